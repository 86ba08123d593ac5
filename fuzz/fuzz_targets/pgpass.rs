//! `.pgpass` is the user's file: iamdb rewrites only its own block. For any file text and any
//! token, writing a profile's line and removing it again gives back every byte the user wrote
//! (plus, at most, the newline iamdb added before its block), and the token reads back as
//! written. A marker line that is not part of a complete block (a `BEGIN` whose `END` was
//! lost) is the user's text like any other.
#![no_main]

use std::collections::BTreeMap;

use iamdb_core::clients::postgres;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the token, the rest the file as the user left it.
    let (token, text) = input.split_once('\n').unwrap_or((input, ""));
    let mut ours = BTreeMap::new();
    ours.insert(
        "fuzz".to_string(),
        Some(format!("db.example:5432:*:app:{}", postgres::escape(token))),
    );
    let (written, _) = postgres::update_pgpass(text, &ours);
    // A complete block: an END with a BEGIN before it.
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let has_block = lines
        .iter()
        .enumerate()
        .any(|(i, l)| *l == postgres::END && lines[..i].iter().any(|b| *b == postgres::BEGIN));
    if has_block {
        // A file with a block of iamdb's (or something that looks like one) is rewritten in
        // place; what matters then is that it never panics and reads back.
        let _ = postgres::pgpass_profiles(&written);
        return;
    }
    if !token.contains(['\n', '\r']) {
        assert_eq!(
            postgres::pgpass_token(&written, "fuzz").as_deref(),
            Some(token),
            "{written:?}"
        );
    }
    assert!(written.starts_with(text) || written.starts_with(&format!("{text}\n")));
    assert_eq!(postgres::pgpass_profiles(&written), ["fuzz"]);
    let mut gone = BTreeMap::new();
    gone.insert("fuzz".to_string(), None);
    let (back, _) = postgres::update_pgpass(&written, &gone);
    if text.is_empty() || text.ends_with('\n') {
        assert_eq!(back, text);
    } else {
        assert_eq!(back, format!("{text}\n"));
    }
});
