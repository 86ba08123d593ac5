#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, checks formatting
# and lints, runs every test, and ends with one summary line:
# `summary: N passed, N failed, N skipped`.
#
#   bash tests/run.sh
#
# A test whose program, package or server is missing fails; it is skipped (and counted as
# skipped) only when the run names it in IAMDB_TEST_SKIP, a comma-separated list of keys
# (postgres, mariadb, redis, pgadmin, dnsmasq, faketime, packages, root, bash-completion, or a program's
# name; `all` for any), e.g. `IAMDB_TEST_SKIP=mariadb bash tests/run.sh`.
#
# IAMDB_TEST_TOOLS: where tools installed for the tests alone are kept between runs
# (target/test-tools by default): pgAdmin 4's virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive for real: libfaketime (frozen clocks for the conformance
# tests), keyctl (the kernel keyring), gnome-keyring in a private D-Bus session (the Secret
# Service), unshare (a user keyring of a test's own), PostgreSQL 15, MariaDB and the PAM headers
# (private servers that check IAM tokens the way RDS does, through a PAM module the tests build).
need=()
command -v faketime >/dev/null || need+=(faketime)
command -v keyctl >/dev/null || need+=(keyutils)
command -v dbus-run-session >/dev/null || need+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v unshare >/dev/null || need+=(util-linux)
# A real pseudo-terminal for the MFA prompt (script), and a process with no terminal (setsid).
command -v script >/dev/null || need+=(bsdutils)
command -v setsid >/dev/null || need+=(util-linux)
# Other OS users for the security tests (useradd, gpasswd).
command -v useradd >/dev/null || need+=(passwd)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v psql >/dev/null || need+=(postgresql-client-15)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null || need+=(mariadb-client)
[ -f /usr/include/security/pam_modules.h ] || need+=(libpam0g-dev)
# python3 -m venv (pgAdmin's virtual environment, below).
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
# Redis 7 and redis-cli: a private server behind a TLS front that checks IAM tokens the way
# ElastiCache and MemoryDB do.
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
# The shells that run shell/ and `iamdb shell-init`, and shellcheck.
for sh in dash zsh fish shellcheck; do command -v "$sh" >/dev/null || need+=("$sh"); done
# bash-completion, which loads shell/completions/iamdb.bash the way users' shells do.
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
command -v openssl >/dev/null || need+=(openssl)
# A private DNS server for the alias tests (a CNAME from a company name to an RDS-like name).
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
# The package checks: rpm lists the RPM's files, man reads the installed pages, and
# systemd-analyze verifies the user unit.
command -v rpm >/dev/null || need+=(rpm)
command -v man >/dev/null || need+=(man-db)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo DEBIAN_FRONTEND=noninteractive)
  else
    echo "tests/run.sh: installing ${need[*]} needs root: run it as root, or install sudo" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Reference implementations and local AWS: botocore/boto3, the AWS CLI and moto's server.
if ! python3 -c 'import botocore, boto3, moto.server' 2>/dev/null || ! command -v aws >/dev/null; then
  echo "== installing the Python references (botocore, boto3, awscli, moto)"
  python3 -m pip install --quiet boto3 botocore awscli 'moto[server]'
fi

# pgAdmin 4 (PyPI pgadmin4 9.x, with psycopg, its driver), driven headless by
# tests/support/pgadmin.py: its own load-servers, password command and driver check the
# servers.json iamdb writes. It gets a virtual environment of its own (~620 MB, ~25-40 s to
# install), kept between runs; the tests find it in IAMDB_TEST_PGADMIN. A run that skips pgadmin
# (IAMDB_TEST_SKIP) does not install it.
IAMDB_TEST_PGADMIN=${IAMDB_TEST_TOOLS:-$PWD/target/test-tools}/pgadmin-venv
export IAMDB_TEST_PGADMIN
skip=${IAMDB_TEST_SKIP:-}
case ",${skip// /}," in
  *,pgadmin,* | *,all,*) ;;
  *)
    if ! "$IAMDB_TEST_PGADMIN/bin/python" -c 'import importlib.metadata as m, psycopg, sys
sys.exit(m.version("pgadmin4").split(".")[0] != "9")' 2>/dev/null; then
      echo "== installing pgAdmin 4 into $IAMDB_TEST_PGADMIN"
      rm -rf "$IAMDB_TEST_PGADMIN"
      python3 -m venv "$IAMDB_TEST_PGADMIN"
      "$IAMDB_TEST_PGADMIN/bin/pip" install --quiet --disable-pip-version-check 'pgadmin4>=9,<10'
    fi
    ;;
esac

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The iamdb package (and iamdb-core, with its unit tests) for macOS and Windows: checked and
# linted here, not run (there is no such machine here). The helper links aws-lc, whose C
# cannot be built for those systems without their SDKs; .github/workflows/ci.yml builds it
# there.
echo "== other platforms (cargo clippy --target)"
for target in x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-gnu; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >/dev/null
  cargo clippy --quiet --locked -p iamdb -p iamdb-core --lib --bins --target "$target" -- -D warnings
  cargo clippy --quiet --locked -p iamdb-core --tests --target "$target" -- -D warnings
  echo "$target: iamdb and iamdb-core check and lint clean"
done

# Fuzzing (cargo fuzz, libFuzzer with AddressSanitizer): every target in fuzz/ for a short run on
# each test run (IAMDB_FUZZ_SECONDS, 20 s by default); a crash fails the run and leaves its
# input under fuzz/artifacts/. cargo fuzz needs a nightly compiler's -Z flags: the machine's
# nightly toolchain when there is one, else the stable one with RUSTC_BOOTSTRAP=1.
echo "== cargo fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi
(
  cd fuzz
  cargo fmt --check
  "${fuzz[@]}" build -O
  for target in $("${fuzz[@]}" list); do
    flog="target/fuzz-$target.log"
    if ! "${fuzz[@]}" run -O "$target" -- -max_total_time="${IAMDB_FUZZ_SECONDS:-20}" >"$flog" 2>&1; then
      tail -n 60 "$flog"
      echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/"
      exit 1
    fi
    echo "fuzz: $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$flog")"
  done
)

# The packages, from a release build: tests/packaging.rs checks them (and, under CI=true,
# installs the .deb with dpkg -i and removes it again).
echo "== packages (cargo deb, cargo generate-rpm)"
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb
command -v cargo-generate-rpm >/dev/null || cargo install --locked --quiet cargo-generate-rpm
rm -rf target/debian target/generate-rpm
# iamdb itself is linked statically against musl (README, "Speed": a cache hit then starts in
# a third of the time a dynamically linked glibc program needs); the helper stays dynamic.
rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl >/dev/null
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p iamdb --bin iamdb --target x86_64-unknown-linux-musl
# cargo deb --target reads every built file from target/<target>/release: the helper, built
# for the host, goes there beside the static iamdb.
cp target/release/iamdb-credentials target/x86_64-unknown-linux-musl/release/
cargo deb --no-build --quiet --target x86_64-unknown-linux-musl
cargo generate-rpm
IAMDB_DEB=$(ls target/debian/iamdb_*.deb)
IAMDB_RPM=$(ls target/generate-rpm/iamdb-*.rpm)
export IAMDB_DEB IAMDB_RPM
echo "$IAMDB_DEB"
echo "$IAMDB_RPM"

# The tests run every command in user namespaces of their own and must never reach the
# keyring of the user running them: a canary entry named like iamdb's goes in first (it must
# survive every `iamdb cache clear`), and no key may appear that was not there before (keys of
# the user's own may expire meanwhile; that is their timeout, not the tests).
keyring() {
  for key in $(keyctl rlist @u 2>/dev/null); do keyctl describe "$key"; done | sort
}
canary=$(keyctl add user "iamdb:canary:$$" "iamdb tests/run.sh canary" @u)
keys_before=$(keyring)

# Other OS users and groups the tests made (iamdb-test-*), removed after the run.
remove_test_accounts() {
  getent passwd | cut -d: -f1 | grep '^iamdb-test-' | while read -r user; do userdel "$user" 2>/dev/null || true; done
  getent group | cut -d: -f1 | grep '^iamdb-test-' | while read -r group; do groupdel "$group" 2>/dev/null || true; done
}

echo "== cargo test"
log=$(mktemp)
IAMDB_TEST_SKIPPED_LOG=$(mktemp)
export IAMDB_TEST_SKIPPED_LOG
trap 'rm -f "$log" "$IAMDB_TEST_SKIPPED_LOG"; keyctl unlink "$canary" @u >/dev/null 2>&1 || true; remove_test_accounts' EXIT
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
keys_after=$(keyring)
added=$(comm -13 <(echo "$keys_before") <(echo "$keys_after"))
if [ -n "$added" ] || ! keyctl describe "$canary" >/dev/null 2>&1; then
  echo "the tests reached the keyring of the user running them:"
  echo "added: ${added:-nothing}"
  keyctl describe "$canary" >/dev/null 2>&1 || echo "removed: the canary iamdb:canary:$$"
  status=1
else
  echo "keyring of the user running the tests: canary kept, nothing added"
fi
passed=$(grep '^test result:' "$log" | grep -o '[0-9]* passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep '^test result:' "$log" | grep -o '[0-9]* failed' | awk '{s+=$1} END {print s+0}')
# A test skipped by IAMDB_TEST_SKIP returned early, which libtest counts as passed.
skipped=$(cut -f1 "$IAMDB_TEST_SKIPPED_LOG" | sort -u | grep -c . || true)
passed=$((passed - skipped))
echo
if [ "$skipped" -gt 0 ]; then
  echo "skipped (IAMDB_TEST_SKIP=${IAMDB_TEST_SKIP:-}):"
  sed 's/^/  /' "$IAMDB_TEST_SKIPPED_LOG"
fi
echo "summary: $passed passed, $failed failed, $skipped skipped"
exit "$status"
