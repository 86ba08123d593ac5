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

/// The port the client dials: the tunnel end's, else the database's.
pub fn dial_port(p: &Profile) -> u16 {
    p.connect_port.unwrap_or(p.port)
}

/// The `.pgpass` line for a profile. libpq matches it against the host *name* (even when it
/// dials `hostaddr`) and the port it dials.
pub fn pgpass_line(p: &Profile, token: &str) -> String {
    format!(
        "{}:{}:{}:{}:{}",
        escape(&p.host),
        dial_port(p),
        escape(p.database.as_deref().unwrap_or("*")),
        escape(&p.user),
        escape(token)
    )
}

/// The profiles that have a line in iamdb's block of a `.pgpass` text.
pub fn pgpass_profiles(text: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        match line.trim_end_matches('\r') {
            l if l == BEGIN => inside = true,
            l if l == END => inside = false,
            l if inside => out.extend(l.strip_prefix(ENTRY_PREFIX).map(String::from)),
            _ => {}
        }
    }
    out
}

/// The token iamdb's block of a `.pgpass` text holds for `profile`, unescaped.
pub fn pgpass_token(text: &str, profile: &str) -> Option<String> {
    // Only iamdb's block counts: a user's own comment that happens to read like a marker
    // outside it must not be taken for iamdb's line.
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .skip_while(|l| *l != BEGIN)
        .take_while(|l| *l != END);
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
/// removed. Everything outside the block is kept as it was.
pub fn update_pgpass(text: &str, updates: &BTreeMap<String, Option<String>>) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let begin = lines
        .iter()
        .position(|l| l.trim_end_matches(['\n', '\r']) == BEGIN);
    let end = begin.and_then(|b| {
        lines[b..]
            .iter()
            .position(|l| l.trim_end_matches(['\n', '\r']) == END)
            .map(|e| b + e)
    });
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let (before, after) = match (begin, end) {
        (Some(b), Some(e)) => {
            let mut current: Option<String> = None;
            for line in &lines[b + 1..e] {
                let line = line.trim_end_matches(['\n', '\r']);
                if let Some(name) = line.strip_prefix(ENTRY_PREFIX) {
                    current = Some(name.to_string());
                } else if let Some(name) = current.take() {
                    entries.insert(name, line.to_string());
                }
            }
            (lines[..b].concat(), lines[e + 1..].concat())
        }
        _ => (text.to_string(), String::new()),
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
    out
}

/// The marker line above each `pg_service.conf` section iamdb owns.
const SERVICE_MARKER: &str = "# iamdb profile ";
const SERVICE_MARKER_TAIL: &str = " (written by `iamdb pgservice sync`; edits are lost)";

/// The `pg_service.conf` section for a profile: everything libpq needs but the password,
/// which it reads from `passfile`.
pub fn service_section(
    p: &Profile,
    name: &str,
    ca: &std::path::Path,
    hostaddr: Option<&str>,
    passfile: &std::path::Path,
) -> String {
    let mut s = format!(
        "{SERVICE_MARKER}{name}{SERVICE_MARKER_TAIL}\n[{name}]\nhost={}\n",
        p.host
    );
    if let Some(addr) = hostaddr {
        s.push_str(&format!("hostaddr={addr}\n"));
    }
    s.push_str(&format!("port={}\n", dial_port(p)));
    if let Some(db) = &p.database {
        s.push_str(&format!("dbname={db}\n"));
    }
    s.push_str(&format!(
        "user={}\nsslmode=verify-full\nsslrootcert={}\npassfile={}\n",
        p.user,
        ca.display(),
        passfile.display()
    ));
    s
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
    let bare = |l: &str| l.trim_end_matches(['\n', '\r']).to_string();
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

/// The libpq environment for a profile: TLS verified against `ca`, and, through a tunnel,
/// `hostaddr` so that the certificate is still checked against the RDS name.
pub fn libpq_env(
    p: &Profile,
    token: &str,
    ca: &std::path::Path,
    hostaddr: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PGHOST", p.host.clone()),
        ("PGPORT", dial_port(p).to_string()),
        ("PGUSER", p.user.clone()),
        ("PGPASSWORD", token.to_string()),
        ("PGSSLMODE", "verify-full".to_string()),
        ("PGSSLROOTCERT", ca.display().to_string()),
    ];
    if let Some(addr) = hostaddr {
        env.push(("PGHOSTADDR", addr));
    }
    if let Some(db) = &p.database {
        env.push(("PGDATABASE", db.clone()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_from_the_block() {
        let token = "h:5432/?Action=connect&X=a\\b:c";
        let text = update_pgpass(
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

    fn upd(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(String::from)))
            .collect()
    }

    #[test]
    fn the_block_is_added_replaced_and_removed_keeping_other_lines() {
        let foreign = "# my own\nlocalhost:5432:*:me:secret\n*:*:*:x:y";
        let one = update_pgpass(foreign, &upd(&[("prod", Some("h:1:*:u:t1"))]));
        assert_eq!(
            one,
            format!("{foreign}\n{BEGIN}\n# iamdb profile prod\nh:1:*:u:t1\n{END}\n")
        );
        let two = update_pgpass(&one, &upd(&[("dev", Some("d:2:*:u:t2"))]));
        assert!(
            two.contains("# iamdb profile dev\nd:2:*:u:t2\n# iamdb profile prod\nh:1:*:u:t1\n"),
            "{two}"
        );
        let replaced = update_pgpass(&two, &upd(&[("prod", Some("h:1:*:u:t3"))]));
        assert!(
            replaced.contains("h:1:*:u:t3") && !replaced.contains("t1"),
            "{replaced}"
        );
        assert!(replaced.starts_with(foreign));
        assert_eq!(pgpass_profiles(&replaced), ["dev", "prod"]);
        let removed = update_pgpass(&replaced, &upd(&[("prod", None), ("dev", None)]));
        assert_eq!(removed, format!("{foreign}\n"));

        // Lines after the block stay after it.
        let middle = format!("a\n{BEGIN}\n# iamdb profile p\nx\n{END}\nz\n");
        assert_eq!(
            update_pgpass(&middle, &upd(&[("p", Some("y"))])),
            format!("a\n{BEGIN}\n# iamdb profile p\ny\n{END}\nz\n")
        );
        assert_eq!(update_pgpass("", &upd(&[])), "");
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
