//! Option files: a value written by iamdb reads back as written, whatever characters it holds,
//! and the one `!include` line iamdb keeps in a user's `~/.my.cnf` comes and goes without
//! touching any other byte.
#![no_main]

use iamdb_core::clients::mysql;
use libfuzzer_sys::fuzz_target;

const INCLUDE: &str = "!include /home/u/.config/iamdb/my.cnf";

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (value, text) = input.split_once('\n').unwrap_or((input, ""));

    match mysql::quote(value) {
        Ok(quoted) => {
            let file = format!("[client_x]\nuser=app\npassword={quoted}\n");
            assert_eq!(
                mysql::group_password(&file, "client_x").as_deref(),
                Some(value)
            );
        }
        // Refused only for a control character, which could start a line of its own.
        Err(_) => assert!(value.chars().any(char::is_control), "{value:?}"),
    }

    let has = text.lines().any(|l| l.trim_end() == INCLUDE);
    let added = mysql::update_include(text, INCLUDE, true);
    let includes = added.lines().filter(|l| l.trim_end() == INCLUDE).count();
    assert!(includes == 1 || (has && includes >= 1), "{added:?}");
    assert_eq!(
        mysql::update_include(&added, INCLUDE, true),
        added,
        "idempotent"
    );
    let removed = mysql::update_include(&added, INCLUDE, false);
    assert!(!removed.lines().any(|l| l.trim_end() == INCLUDE));
    if !has {
        if text.is_empty() || text.ends_with('\n') {
            assert_eq!(removed, text);
        } else {
            assert_eq!(removed, format!("{text}\n"));
        }
    }
});
