//! pgAdmin 4's `servers.json` (what its File > Import/Export Servers and `setup.py
//! load-servers` read): one server per PostgreSQL-family profile in the group "iamdb", whose
//! password pgAdmin gets by running `iamdb token PROFILE` (its `PasswordExecCommand`) and
//! runs again once `PasswordExecExpiration` seconds have passed.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::config::Profile;

/// The group iamdb's servers are in; servers in other groups are never touched.
pub const GROUP: &str = "iamdb";

/// Quotes `s` for `sh -c` (pgAdmin runs the command through the shell).
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command pgAdmin runs for a profile's password: this iamdb by its absolute path (pgAdmin
/// started from a desktop menu has no shell PATH), the config file when one was named (a
/// desktop session has no IAMDB_CONFIG either), and `token PROFILE`.
pub fn password_command(iamdb: &Path, config: Option<&Path>, profile: &str) -> String {
    let mut words = vec![sh_quote(&iamdb.display().to_string())];
    if let Some(c) = config {
        words.push("--config".into());
        words.push(sh_quote(&c.display().to_string()));
    }
    words.push("token".into());
    words.push(sh_quote(profile));
    words.join(" ")
}

/// A pgAdmin server entry for profile `name`: the AWS name as `Host` (what TLS checks), the
/// port dialled, TLS verified against `ca`, `hostaddr` when the client dials a tunnel or an
/// alias, and the token from `command`, asked for again a refresh margin before it expires.
pub fn server(p: &Profile, name: &str, ca: &Path, hostaddr: Option<&str>, command: &str) -> Value {
    let mut params = Map::new();
    params.insert("sslmode".into(), "verify-full".into());
    params.insert("sslrootcert".into(), ca.display().to_string().into());
    if let Some(addr) = hostaddr {
        params.insert("hostaddr".into(), addr.into());
    }
    params.insert("connect_timeout".into(), 10.into());
    let lifetime = p
        .expires_in()
        .unwrap_or(crate::engine::TOKEN_LIFETIME.as_secs());
    json!({
        "Name": name,
        "Group": GROUP,
        "Host": p.host,
        "Port": p.dial_port(),
        "MaintenanceDB": p.database().unwrap_or("postgres"),
        "Username": p.user,
        "ConnectionParameters": params,
        "PasswordExecCommand": command,
        "PasswordExecExpiration": lifetime.saturating_sub(u64::from(p.refresh_margin)).max(1),
    })
}

/// A whole `servers.json` holding `servers` (name and entry), merged into `existing` when
/// there is one: an iamdb-group server of the same name is replaced where it stands, every
/// other server is kept as it was, and new ones are added at the end. Servers are numbered
/// from 1 in that order, as pgAdmin's own export numbers them.
pub fn merge(existing: Option<&str>, servers: Vec<(String, Value)>) -> Result<String, String> {
    let mut doc = match existing.filter(|t| !t.trim().is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("not a pgAdmin servers file (not a JSON object)".into()),
            Err(e) => return Err(format!("not JSON: {e}")),
        },
    };
    let mut list: Vec<Value> = match doc.remove("Servers") {
        None => Vec::new(),
        Some(Value::Object(m)) => m.into_iter().map(|(_, v)| v).collect(),
        Some(_) => return Err("\"Servers\" is not a JSON object".into()),
    };
    for (name, entry) in servers {
        let ours = |v: &Value| {
            v.get("Group").and_then(Value::as_str) == Some(GROUP)
                && v.get("Name").and_then(Value::as_str) == Some(&name)
        };
        match list.iter_mut().find(|v| ours(v)) {
            Some(slot) => *slot = entry,
            None => list.push(entry),
        }
    }
    let numbered: Map<String, Value> = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| ((i + 1).to_string(), v))
        .collect();
    let mut out = Map::new();
    out.insert("Servers".into(), Value::Object(numbered));
    out.extend(doc);
    let mut text = serde_json::to_string_pretty(&Value::Object(out)).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, group: &str, host: &str) -> Value {
        json!({"Name": name, "Group": group, "Host": host, "Port": 5432})
    }

    #[test]
    fn iamdb_servers_are_replaced_by_name_and_others_kept() {
        let existing = serde_json::to_string(&json!({"Servers": {
            "1": entry("mine", "Servers", "a"),
            "2": entry("prod", GROUP, "old"),
            "3": entry("prod", "Servers", "hand-made"),
            "4": entry("keep", GROUP, "k"),
        }}))
        .unwrap();
        let text = merge(
            Some(&existing),
            vec![
                ("prod".into(), entry("prod", GROUP, "new")),
                ("staging".into(), entry("staging", GROUP, "s")),
            ],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let hosts: Vec<(&str, &str)> = v["Servers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, s)| (k.as_str(), s["Host"].as_str().unwrap()))
            .collect();
        assert_eq!(
            hosts,
            [
                ("1", "a"),
                ("2", "new"),
                ("3", "hand-made"),
                ("4", "k"),
                ("5", "s")
            ]
        );
    }

    #[test]
    fn files_that_are_not_servers_files_are_refused() {
        assert!(merge(Some("[1]"), vec![]).is_err());
        assert!(merge(Some("{\"Servers\": []}"), vec![]).is_err());
        assert!(merge(Some("{"), vec![]).is_err());
        assert_eq!(
            merge(Some(" \n"), vec![]).unwrap(),
            "{\n  \"Servers\": {}\n}\n"
        );
    }

    #[test]
    fn the_command_survives_the_shell() {
        assert_eq!(
            password_command(
                Path::new("/opt/my tools/iamdb"),
                Some(Path::new("/home/a/it's.toml")),
                "prod"
            ),
            "'/opt/my tools/iamdb' --config '/home/a/it'\\''s.toml' token prod"
        );
        assert_eq!(
            password_command(Path::new("/usr/bin/iamdb"), None, "a.b-c_d"),
            "/usr/bin/iamdb token a.b-c_d"
        );
    }
}
