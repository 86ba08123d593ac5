//! libpq: the environment every libpq program reads, and `.pgpass`.
//!
//! `.pgpass` lines are `host:port:database:user:password`, with `:` and `\` escaped by `\` in
//! every field: an unescaped token would be cut at its first `:` (libpq would then send just
//! the host name). iamdb's lines live in a block it marks as its own; every other line of
//! the file is kept byte for byte.

use std::collections::BTreeMap;

use crate::config::Profile;

pub const BEGIN: &str =
    "# BEGIN iamdb: lines up to END are written by `iamdb pgpass sync`; edits are lost";
pub const END: &str = "# END iamdb";
const ENTRY_PREFIX: &str = "# iamdb profile ";

/// Escapes a `.pgpass` field.
pub fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A value iamdb writes into a libpq file must be one line: a newline (or any control
/// character) there would add lines of its own to `.pgpass` or `pg_service.conf`, whatever
/// the value's source (the config file, a flag, or an environment variable such as
/// `XDG_DATA_HOME` or `PGPASSFILE` that makes up a path).
pub fn check_value(what: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "{what} {value:?} contains the control character {c:?}, which would break the file's lines"
        )),
        None => Ok(()),
    }
}

/// The `.pgpass` line for a profile. libpq matches it against the host *name* (even when it
/// dials `hostaddr`) and the port it dials.
pub fn pgpass_line(p: &Profile, token: &str) -> Result<String, String> {
    let database = p.set.database.as_deref().unwrap_or("*");
    for (what, value) in [
        ("host", p.host.as_str()),
        ("database", database),
        ("user", p.user.as_str()),
        ("token", token),
    ] {
        check_value(what, value)?;
    }
    Ok(format!(
        "{}:{}:{}:{}:{}",
        escape(&p.host),
        p.dial_port(),
        escape(database),
        escape(&p.user),
        escape(token)
    ))
}

fn bare(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// Where iamdb's block is among `lines`, and the lines of markers that are not part of it.
/// Each `END` pairs with the nearest `BEGIN` before it, and the first such pair is iamdb's
/// block: a `BEGIN` left without its `END` (a hand edit, a truncated copy) is the user's text,
/// kept as it is, never the start of a block that would swallow the lines after it.
fn find_block(lines: &[&str]) -> (Option<(usize, usize)>, Vec<usize>) {
    let mut open: Option<usize> = None;
    let mut block = None;
    let mut stray = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match bare(line) {
            BEGIN => {
                if let Some(earlier) = open.replace(i) {
                    stray.push(earlier);
                }
            }
            END => match open.take() {
                Some(b) if block.is_none() => block = Some((b, i)),
                _ => stray.push(i),
            },
            _ => {}
        }
    }
    stray.extend(open);
    stray.sort_unstable();
    (block, stray)
}

/// The lines of iamdb's block, markers excluded.
fn block_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match find_block(&lines).0 {
        Some((b, e)) => lines[b + 1..e].iter().map(|l| bare(l)).collect(),
        None => Vec::new(),
    }
}

/// The profiles that have a line in iamdb's block of a `.pgpass` text.
pub fn pgpass_profiles(text: &str) -> Vec<String> {
    block_lines(text)
        .into_iter()
        .filter_map(|l| l.strip_prefix(ENTRY_PREFIX).map(String::from))
        .collect()
}

/// The token iamdb's block of a `.pgpass` text holds for `profile`, unescaped.
pub fn pgpass_token(text: &str, profile: &str) -> Option<String> {
    // Only iamdb's block counts: a user's own comment that happens to read like a marker
    // outside it must not be taken for iamdb's line.
    let lines = block_lines(text);
    let mut lines = lines.into_iter();
    lines.find(|l| l.strip_prefix(ENTRY_PREFIX) == Some(profile))?;
    let mut fields = pgpass_fields(lines.next()?);
    (fields.len() == 5).then(|| fields.pop()).flatten()
}

/// The fields of a `.pgpass` line, unescaped the way libpq reads them.
pub fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("never empty");
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(String::new()),
            c => field.push(c),
        }
    }
    fields
}

/// Rewrites iamdb's block in a `.pgpass` text. `updates` maps profile names to their new line
/// (None removes the profile); profiles not named keep their lines. An empty block is
/// removed. Everything outside the block is kept as it was. Also returns a warning for each
/// marker line that is not part of iamdb's block (kept as it is).
pub fn update_pgpass(
    text: &str,
    updates: &BTreeMap<String, Option<String>>,
) -> (String, Vec<String>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (block, stray) = find_block(&lines);
    let warnings = stray
        .iter()
        .map(|&i| {
            let (this, other) = if bare(lines[i]) == BEGIN {
                ("# BEGIN iamdb", "with no `# END iamdb` after it")
            } else {
                ("# END iamdb", "with no `# BEGIN iamdb` before it")
            };
            format!(
                "line {}: a `{this}` line {other} is not iamdb's block; it is kept as it is",
                i + 1
            )
        })
        .collect();
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let (before, after) = match block {
        Some((b, e)) => {
            let mut current: Option<String> = None;
            for line in &lines[b + 1..e] {
                let line = bare(line);
                if let Some(name) = line.strip_prefix(ENTRY_PREFIX) {
                    current = Some(name.to_string());
                } else if let Some(name) = current.take() {
                    entries.insert(name, line.to_string());
                }
            }
            (lines[..b].concat(), lines[e + 1..].concat())
        }
        None => (text.to_string(), String::new()),
    };
    for (name, line) in updates {
        match line {
            Some(l) => entries.insert(name.clone(), l.clone()),
            None => entries.remove(name),
        };
    }
    let mut out = before;
    if !entries.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(BEGIN);
        out.push('\n');
        for (name, line) in &entries {
            out.push_str(&format!("{ENTRY_PREFIX}{name}\n{line}\n"));
        }
        out.push_str(END);
        out.push('\n');
    }
    out.push_str(&after);
    (out, warnings)
}

/// The marker line above each `pg_service.conf` section iamdb owns.
const SERVICE_MARKER: &str = "# iamdb profile ";
const SERVICE_MARKER_TAIL: &str = " (written by `iamdb pgservice sync`; edits are lost)";

/// The longest line libpq reads from `pg_service.conf` (libpq 15 reads lines into a 1024-byte
/// buffer: 1021 bytes and the newline fit, a longer line makes *every* service in the file
/// fail with "line N too long"; measured with psql 15).
pub const SERVICE_LINE_MAX: usize = 1021;

/// The `pg_service.conf` section for a profile: everything libpq needs but the password,
/// which it reads from `passfile`. Every line is checked against what libpq can read.
pub fn service_section(
    p: &Profile,
    name: &str,
    ca: &std::path::Path,
    hostaddr: Option<&str>,
    passfile: &std::path::Path,
) -> Result<String, String> {
    let ca = ca.display().to_string();
    let passfile = passfile.display().to_string();
    let port = p.dial_port().to_string();
    let mut settings: Vec<(&str, &str)> = vec![("host", &p.host)];
    if let Some(addr) = hostaddr {
        settings.push(("hostaddr", addr));
    }
    settings.push(("port", &port));
    if let Some(db) = p.database() {
        settings.push(("dbname", db));
    }
    settings.extend([
        ("user", p.user.as_str()),
        ("sslmode", "verify-full"),
        ("sslrootcert", &ca),
        ("passfile", &passfile),
    ]);
    let mut lines = vec![
        format!("{SERVICE_MARKER}{name}{SERVICE_MARKER_TAIL}"),
        format!("[{name}]"),
    ];
    for (key, value) in settings {
        check_value(key, value)?;
        let line = format!("{key}={value}");
        if line.len() > SERVICE_LINE_MAX {
            return Err(format!(
                "the `{key}` line would be {} bytes long; libpq reads lines of at most {SERVICE_LINE_MAX} bytes from pg_service.conf, and a longer one breaks every service in the file",
                line.len()
            ));
        }
        lines.push(line);
    }
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}

/// Rewrites the sections iamdb owns in a `pg_service.conf` text: `updates` maps profile names
/// to their new section (None removes it). A section is iamdb's when its marker line is right
/// above its header; it runs to the last `key=value` line after the header. A same-named
/// section iamdb did not write is an error naming its line. Every other byte stays.
pub fn update_service_file(
    text: &str,
    updates: &BTreeMap<String, Option<String>>,
) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut written = std::collections::BTreeSet::new();
    let mut i = 0;
    while i < lines.len() {
        let line = bare(lines[i]);
        let owned = line
            .strip_prefix(SERVICE_MARKER)
            .and_then(|r| r.strip_suffix(SERVICE_MARKER_TAIL))
            .filter(|name| {
                lines
                    .get(i + 1)
                    .is_some_and(|h| bare(h) == format!("[{name}]"))
            })
            .map(String::from);
        if let Some(name) = owned {
            let mut end = i + 2;
            while end < lines.len() && {
                let l = bare(lines[end]);
                !l.starts_with('[') && !l.starts_with('#') && l.contains('=')
            } {
                end += 1;
            }
            match updates.get(&name) {
                Some(Some(section)) => out.push_str(section),
                Some(None) => {}
                None => out.push_str(&lines[i..end].concat()),
            }
            written.insert(name);
            i = end;
            continue;
        }
        if let Some(name) = line
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            && updates.contains_key(name)
        {
            return Err(format!(
                "line {}: a [{name}] section that iamdb did not write is already there; rename or remove it",
                i + 1
            ));
        }
        out.push_str(lines[i]);
        i += 1;
    }
    for (name, section) in updates {
        if let Some(section) = section
            && !written.contains(name)
        {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
            }
            out.push_str(section);
        }
    }
    Ok(out)
}

/// The libpq environment variables iamdb sets for a client, all of them decided by the
/// profile: where to connect, as whom, with which token, and how TLS is checked.
const SET_BY_IAMDB: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGGSSENCMODE",
];

/// libpq environment variables that could send the token elsewhere or weaken how it is
/// protected, taken out of a client's environment when iamdb does not set them itself: a
/// service (its file's values outrank every `PG*` variable), another address, a looser TLS
/// mode, another CA, no SNI, older TLS versions, a password file. Others (`PGAPPNAME`,
/// `PGOPTIONS`, `PGCONNECT_TIMEOUT`, client certificates, ...) only shape a connection that
/// goes where iamdb says, and stay.
const REMOVED_BY_IAMDB: &[&str] = &[
    "PGHOSTADDR",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
    "PGPASSFILE",
    "PGREQUIRESSL",
    "PGSSLNEGOTIATION",
    "PGSSLSNI",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGREQUIREAUTH",
    "PGREQUIREPEER",
    "PGCHANNELBINDING",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGGSSDELEGATION",
    "PGLOADBALANCEHOSTS",
];

/// Which of the variables in `present` a client must not inherit: those that would
/// override iamdb's connection and that iamdb does not set itself.
pub fn libpq_env_removed<'a>(present: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = present
        .into_iter()
        .filter(|name| REMOVED_BY_IAMDB.contains(name) && !SET_BY_IAMDB.contains(name))
        .map(String::from)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The libpq environment for a profile: TLS verified against `ca`, and, through a tunnel,
/// `hostaddr` so that the certificate is still checked against the RDS name. GSSAPI
/// encryption is off: libpq would otherwise prefer it to TLS when a Kerberos ticket is at
/// hand, and skip the certificate check.
pub fn libpq_env(
    p: &Profile,
    token: &str,
    ca: &std::path::Path,
    hostaddr: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PGHOST", p.host.clone()),
        ("PGPORT", p.dial_port().to_string()),
        ("PGUSER", p.user.clone()),
        ("PGPASSWORD", token.to_string()),
        ("PGSSLMODE", "verify-full".to_string()),
        ("PGSSLROOTCERT", ca.display().to_string()),
        ("PGGSSENCMODE", "disable".to_string()),
    ];
    if let Some(addr) = hostaddr {
        env.push(("PGHOSTADDR", addr));
    }
    if let Some(db) = p.database() {
        env.push(("PGDATABASE", db.to_string()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_from_the_block() {
        let token = "h:5432/?Action=connect&X=a\\b:c";
        let text = rewrite(
            "other:1:*:u:pw\n",
            &upd(&[("prod", Some(&format!("h:5432:*:u:{}", escape(token))))]),
        );
        assert_eq!(pgpass_token(&text, "prod").as_deref(), Some(token));
        assert_eq!(pgpass_token(&text, "dev"), None);
    }

    #[test]
    fn fields_are_escaped() {
        for (field, want) in [
            ("plain", "plain"),
            ("a:b", "a\\:b"),
            ("a\\b", "a\\\\b"),
            ("h:5432/?x=1&y", "h\\:5432/?x=1&y"),
            ("\\:", "\\\\\\:"),
        ] {
            assert_eq!(escape(field), want, "{field}");
        }
    }

    fn rewrite(text: &str, updates: &BTreeMap<String, Option<String>>) -> String {
        let (out, warnings) = update_pgpass(text, updates);
        assert!(warnings.is_empty(), "{warnings:?}");
        out
    }

    #[test]
    fn an_unterminated_begin_is_the_users_text() {
        // A BEGIN whose END was lost: the first sync appends a block of its own after it;
        // the second must pair its END with its own BEGIN, not with the stray one, or it would
        // delete the user's lines in between.
        let foreign = format!("{BEGIN}\nmine:5432:*:me:secret1\n# a note\nother:1:*:x:secret2\n");
        let (once, warnings) = update_pgpass(&foreign, &upd(&[("prod", Some("h:1:*:u:t1"))]));
        assert!(once.starts_with(&foreign), "{once}");
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("line 1: a `# BEGIN iamdb` line with no `# END iamdb`"),
            "{warnings:?}"
        );
        let (twice, _) = update_pgpass(&once, &upd(&[("prod", Some("h:1:*:u:t2"))]));
        assert!(twice.starts_with(&foreign), "{twice}");
        assert!(
            twice.contains("h:1:*:u:t2") && !twice.contains("h:1:*:u:t1"),
            "{twice}"
        );
        assert_eq!(pgpass_token(&twice, "prod").as_deref(), Some("t2"));
        let (gone, _) = update_pgpass(&twice, &upd(&[("prod", None)]));
        assert_eq!(gone, foreign);
        // An END with no BEGIN before it is the user's too.
        let stray_end = format!("a:1:*:b:c\n{END}\n");
        let (out, warnings) = update_pgpass(&stray_end, &upd(&[("p", Some("x"))]));
        assert!(
            out.starts_with(&stray_end) && warnings.len() == 1,
            "{out} {warnings:?}"
        );
    }

    #[test]
    fn control_characters_never_reach_the_files() {
        let mut p = profile();
        p.set.database = Some("shop\nevil:5432:*:app:x".into());
        assert!(
            pgpass_line(&p, "t")
                .unwrap_err()
                .contains("control character")
        );
        let ca = std::path::Path::new("/ca.pem");
        assert!(service_section(&p, "x", ca, None, std::path::Path::new("/p")).is_err());
        let p = profile();
        let bad_path = std::path::PathBuf::from("/home/u\n[evil]/.pgpass");
        assert!(service_section(&p, "x", ca, None, &bad_path).is_err());
        assert!(pgpass_line(&p, "tok\ren").is_err());
        assert!(pgpass_line(&p, "token").is_ok());
    }

    #[test]
    fn service_lines_stay_within_what_libpq_reads() {
        let p = profile();
        let passfile = std::path::Path::new("/p");
        let fits = format!("/{}", "c".repeat(SERVICE_LINE_MAX - "sslrootcert=/".len()));
        assert!(service_section(&p, "x", std::path::Path::new(&fits), None, passfile).is_ok());
        let long = format!("{fits}c");
        let err =
            service_section(&p, "x", std::path::Path::new(&long), None, passfile).unwrap_err();
        assert!(
            err.contains("`sslrootcert` line would be 1022 bytes"),
            "{err}"
        );
    }

    #[test]
    fn only_variables_that_redirect_or_weaken_are_removed() {
        let removed = libpq_env_removed([
            "PGSERVICE",
            "PGAPPNAME",
            "PGHOSTADDR",
            "PGSSLMODE",
            "PGSYSCONFDIR",
            "PGOPTIONS",
            "PGSSLNEGOTIATION",
            "PATH",
        ]);
        assert_eq!(removed, ["PGSERVICE", "PGSSLNEGOTIATION", "PGSYSCONFDIR"]);
    }

    fn profile() -> Profile {
        crate::config::Config::parse(
            "/c.toml".into(),
            "[profiles.p]\nengine = \"postgres\"\nhost = \"db.abc.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n",
        )
        .unwrap()
        .resolve(Some("p"), Default::default())
        .unwrap()
    }

    fn upd(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(String::from)))
            .collect()
    }

    #[test]
    fn the_block_is_added_replaced_and_removed_keeping_other_lines() {
        let foreign = "# my own\nlocalhost:5432:*:me:secret\n*:*:*:x:y";
        let one = rewrite(foreign, &upd(&[("prod", Some("h:1:*:u:t1"))]));
        assert_eq!(
            one,
            format!("{foreign}\n{BEGIN}\n# iamdb profile prod\nh:1:*:u:t1\n{END}\n")
        );
        let two = rewrite(&one, &upd(&[("dev", Some("d:2:*:u:t2"))]));
        assert!(
            two.contains("# iamdb profile dev\nd:2:*:u:t2\n# iamdb profile prod\nh:1:*:u:t1\n"),
            "{two}"
        );
        let replaced = rewrite(&two, &upd(&[("prod", Some("h:1:*:u:t3"))]));
        assert!(
            replaced.contains("h:1:*:u:t3") && !replaced.contains("t1"),
            "{replaced}"
        );
        assert!(replaced.starts_with(foreign));
        assert_eq!(pgpass_profiles(&replaced), ["dev", "prod"]);
        let removed = rewrite(&replaced, &upd(&[("prod", None), ("dev", None)]));
        assert_eq!(removed, format!("{foreign}\n"));

        // Lines after the block stay after it.
        let middle = format!("a\n{BEGIN}\n# iamdb profile p\nx\n{END}\nz\n");
        assert_eq!(
            rewrite(&middle, &upd(&[("p", Some("y"))])),
            format!("a\n{BEGIN}\n# iamdb profile p\ny\n{END}\nz\n")
        );
        assert_eq!(rewrite("", &upd(&[])), "");
    }

    #[test]
    fn service_sections_are_owned_by_their_marker() {
        let mine = |n: &str, host: &str| {
            format!("{SERVICE_MARKER}{n}{SERVICE_MARKER_TAIL}\n[{n}]\nhost={host}\nport=5432\n")
        };
        let user = "# my services\n[legacy]\nhost=old\n";
        let one = update_service_file(user, &upd(&[("prod", Some(&mine("prod", "a")))])).unwrap();
        assert_eq!(one, format!("{user}\n{}", mine("prod", "a")));
        let with_tail = format!("{one}\n# trailing user comment\n[other]\nhost=x\n");
        let two =
            update_service_file(&with_tail, &upd(&[("prod", Some(&mine("prod", "b")))])).unwrap();
        assert_eq!(two, with_tail.replace("host=a", "host=b"));
        let gone = update_service_file(&two, &upd(&[("prod", None)])).unwrap();
        assert_eq!(
            gone,
            format!("{user}\n\n# trailing user comment\n[other]\nhost=x\n")
        );
        let err =
            update_service_file(user, &upd(&[("legacy", Some(&mine("legacy", "n")))])).unwrap_err();
        assert!(
            err.starts_with("line 2: a [legacy] section that iamdb did not write"),
            "{err}"
        );
    }
}
