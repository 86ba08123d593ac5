//! `iamdb exec` for PostgreSQL profiles: any libpq program logs in with the environment iamdb
//! gives it (the MySQL side is in mycnf.rs, with the option files it shares).

use crate::common::pg::{self, Pg, refused, sandbox};

#[test]
fn iamdb_exec_gives_any_program_the_connection() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = sandbox("exec", pg, &[("db", "localhost", "app", false)]);
    let run = sb
        .run(&[
            "exec",
            "db",
            "--",
            "psql",
            "-X",
            "-tA",
            "-c",
            "SELECT current_user || '@' || current_database()",
        ])
        .ok();
    assert_eq!(run.stdout, "app@shop\n");
    let env = sb
        .run(&[
            "exec",
            "db",
            "--",
            "sh",
            "-c",
            "echo $PGHOST $PGPORT $PGUSER $PGDATABASE $PGSSLMODE",
        ])
        .ok();
    assert_eq!(
        env.stdout,
        format!("localhost {} app shop verify-full\n", pg.port)
    );

    let run = sb
        .run(&["exec", "db", "--", "no-such-program-iamdb"])
        .fails(2);
    assert!(
        run.stderr.contains("cannot run no-such-program-iamdb"),
        "{}",
        run.stderr
    );

    sb.set("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000001");
    refused(&sb.run(&["exec", "db", "--", "psql", "-X", "-tA", "-c", "SELECT 1"]));
}
