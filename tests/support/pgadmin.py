"""Real pgAdmin 4 (PyPI `pgadmin4` 9.x), headless, in a data directory of its own: proves that
a servers.json is accepted by pgAdmin and that pgAdmin's own password-exec code, and its own
driver, log in with what the file says.

Run with the python of the virtual environment pgAdmin is installed in (tests/run.sh makes it,
$IAMDB_TEST_PGADMIN):

  pgadmin.py load DATA_DIR FILE       setup.py setup-db (once), then setup.py load-servers FILE
  pgadmin.py dump DATA_DIR OUT        setup.py dump-servers OUT
  pgadmin.py password DATA_DIR NAME   the password pgAdmin's PasswordExec returns for the server
                                      NAME (line 1) and the server as pgAdmin stored it (line 2,
                                      JSON)
  pgadmin.py login DATA_DIR NAME      pgAdmin's own driver connects to the server NAME the way
                                      the desktop app does (PasswordExec for the password), runs
                                      SELECT current_user and prints it (line 1), then the server
                                      as in `password` (line 2, JSON)

pgAdmin reads its settings from a config file named by CONFIG_DISTRO_FILE_PATH (the mechanism
its own container image uses): this script writes DATA_DIR/pgadmin_config.py (desktop mode,
every path under DATA_DIR, no master password, no OS keyring) and points pgAdmin at it, so the
virtual environment is never written to and any number of data directories can be used at once.
The user is pgAdmin's desktop user (config.DESKTOP_USER), as in the desktop app.

A refusal by pgAdmin (load-servers rejecting the file, a password command that fails, a login
that fails) exits 1 with pgAdmin's own message on stderr.
"""
import contextlib
import json
import os
import re
import subprocess
import sys
import sysconfig

CONFIG = """\
# Written by iamdb's tests/support/pgadmin.py: a private, desktop-mode pgAdmin.
import os
SERVER_MODE = False
DATA_DIR = os.environ['IAMDB_PGADMIN_DATA']
LOG_FILE = os.path.join(DATA_DIR, 'pgadmin4.log')
SQLITE_PATH = os.path.join(DATA_DIR, 'pgadmin4.db')
SESSION_DB_PATH = os.path.join(DATA_DIR, 'sessions')
STORAGE_DIR = os.path.join(DATA_DIR, 'storage')
AZURE_CREDENTIAL_CACHE_DIR = os.path.join(DATA_DIR, 'azurecredentialcache')
KERBEROS_CCACHE_DIR = os.path.join(DATA_DIR, 'krbccache')
# Saved passwords would be encrypted with a master password or a key in the OS keyring; the
# servers here have none (their password comes from PasswordExecCommand).
MASTER_PASSWORD_REQUIRED = False
USE_OS_SECRET_STORAGE = False
UPGRADE_CHECK_ENABLED = False
"""


def die(message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(1)


def pgadmin_root():
    root = os.path.join(sysconfig.get_paths()["purelib"], "pgadmin4")
    if not os.path.isfile(os.path.join(root, "setup.py")):
        die(f"pgAdmin 4 is not installed in {sys.prefix} (no {root}/setup.py)")
    return root


def prepare(data_dir):
    """Writes the config and sets the environment pgAdmin (in this process or a child) reads."""
    data_dir = os.path.abspath(data_dir)
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    root = pgadmin_root()
    # Fail clearly, not by falling back to server mode under /var/lib/pgadmin, should a pgAdmin
    # ever stop reading CONFIG_DISTRO_FILE_PATH.
    with open(os.path.join(root, "pgadmin", "evaluate_config.py")) as f:
        if "CONFIG_DISTRO_FILE_PATH" not in f.read():
            die("this pgAdmin does not read CONFIG_DISTRO_FILE_PATH")
    if os.path.exists(os.path.join(root, "config_local.py")):
        die(f"{root}/config_local.py would override the test configuration; remove it")
    path = os.path.join(data_dir, "pgadmin_config.py")
    with open(path, "w") as f:
        f.write(CONFIG)
    os.environ["IAMDB_PGADMIN_DATA"] = data_dir
    os.environ["CONFIG_DISTRO_FILE_PATH"] = path
    # pgAdmin probes the OS keyring on import (D-Bus); the tests give it none to find.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return root, data_dir


def setup_py(root, *args):
    """pgAdmin's own command line (setup.py); returns what it printed. It prints its refusals on
    stdout and exits 1, but an unexpected error only on stdout, exiting 0: callers check the
    result too."""
    out = subprocess.run(
        [sys.executable, os.path.join(root, "setup.py"), *args],
        capture_output=True,
        text=True,
    )
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        die(f"pgAdmin's setup.py {' '.join(args)} failed ({out.returncode}):\n{out.stdout}")
    sys.stderr.write(out.stdout)
    return out.stdout


def load(data_dir, file):
    root, data_dir = prepare(data_dir)
    file = os.path.abspath(file)
    if not os.path.exists(os.path.join(data_dir, "pgadmin4.db")):
        setup_py(root, "setup-db")
    said = setup_py(root, "load-servers", file)
    with open(file) as f:
        want = len(json.load(f).get("Servers", {}))
    added = re.search(r"Added \d+ Server Group\(s\) and (\d+) Server\(s\)", said)
    if not added or int(added.group(1)) != want:
        die(f"pgAdmin's setup.py load-servers did not add the {want} server(s) of {file}:\n{said}")


def dump(data_dir, out):
    root, _ = prepare(data_dir)
    out = os.path.abspath(out)
    if os.path.exists(out):
        os.remove(out)
    said = setup_py(root, "dump-servers", out)
    if not os.path.exists(out):
        die(f"pgAdmin's setup.py dump-servers wrote no {out}:\n{said}")


def in_app(data_dir, name, then):
    """Runs then(server, manager) in pgAdmin's application, with the desktop user logged in
    (as pgAdmin's before_request does in desktop mode) and the driver's ServerManager for the
    server named `name` (the object pgAdmin connects through)."""
    root, _ = prepare(data_dir)
    sys.path.insert(0, root)
    # The application exactly as pgAdmin's own entry point (pgAdmin4.py, which the desktop
    # runtime starts) makes it; its main() (the web server) is not called.
    os.environ["PGADMIN_SERVER_MODE"] = "OFF"
    import pgAdmin4
    import config

    if config.SERVER_MODE:
        die("pgAdmin did not read the test configuration (it is in server mode)")
    from flask_login import login_user
    from pgadmin.model import Server, User
    from pgadmin.utils.driver import get_driver

    app = pgAdmin4.app
    with app.test_request_context():
        user = User.query.filter_by(username=config.DESKTOP_USER).first()
        if user is None:
            die(f"pgAdmin's desktop user {config.DESKTOP_USER} is missing: run `load` first")
        login_user(user)
        servers = Server.query.filter_by(user_id=user.id, name=name).all()
        if len(servers) != 1:
            die(f"pgAdmin has {len(servers)} servers named {name!r}")
        server = servers[0]
        manager = get_driver(config.PG_DEFAULT_DRIVER).connection_manager(server.id)
        return then(server, manager)


def describe(server, manager, **extra):
    from pgadmin.model import ServerGroup

    group = ServerGroup.query.filter_by(id=server.servergroup_id).first()
    fields = {
        "name": server.name,
        "group": group.name if group else None,
        "host": server.host,
        "port": server.port,
        "maintenance_db": server.maintenance_db,
        "username": server.username,
        "role": server.role,
        "service": server.service,
        "connection_params": server.connection_params,
        "passexec_cmd": server.passexec_cmd,
        "passexec_expiration": server.passexec_expiration,
        "use_ssh_tunnel": server.use_ssh_tunnel,
        # What pgAdmin hands libpq (psycopg) for this server, without a password: file
        # parameters it could not find are dropped here (desktop mode checks they exist).
        "conninfo": manager.create_connection_string(manager.db, manager.user),
    }
    fields.update(extra)
    return json.dumps(fields)


def run_passexec(manager):
    """What pgAdmin's connection code does when no password was saved: manager.passexec.get()
    (pgadmin/utils/passexec.py, the command run with shell=True, stdout stripped)."""
    if manager.passexec is None:
        die("pgAdmin has no password command for this server")
    try:
        return manager.passexec.get()
    except subprocess.CalledProcessError as e:
        die(f"pgAdmin's password command failed ({e.returncode}): {e.stderr}")
    except subprocess.TimeoutExpired as e:
        die(f"pgAdmin's password command timed out after {e.timeout} s")


def password(data_dir, name):
    def then(server, manager):
        pw = run_passexec(manager)
        return pw, describe(server, manager, password=pw, passexec_cmd_run=manager.passexec.cmd)

    with contextlib.redirect_stdout(sys.stderr):
        pw, fields = in_app(data_dir, name, then)
    print(pw)
    print(fields)


def login(data_dir, name):
    def then(server, manager):
        conn = manager.connection()
        ok, msg = conn.connect()
        if not ok:
            die(f"pgAdmin could not connect to {name}: {msg}")
        ok, who = conn.execute_scalar("SELECT current_user")
        if not ok:
            die(f"pgAdmin's query failed: {who}")
        fields = describe(server, manager)
        manager.release()
        return who, fields

    with contextlib.redirect_stdout(sys.stderr):
        who, fields = in_app(data_dir, name, then)
    print(who)
    print(fields)


def main():
    # This file is named like pgAdmin's own package: never import it in its place.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    commands = {"load": (load, 2), "dump": (dump, 2), "password": (password, 2), "login": (login, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) != commands[sys.argv[1]][1] + 2:
        die(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])


if __name__ == "__main__":
    main()
