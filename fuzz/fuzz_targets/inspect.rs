//! `iamdb inspect` reads whatever a user pastes: any bytes must give a report, never a panic,
//! and the report must never repeat the signature or the session token, nor send a control
//! character from the pasted text to the terminal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A fixed "now" keeps every run reproducible from its input alone.
    let report = iamdb_core::inspect::inspect(&text, 1_795_000_000);
    let rendered = iamdb_core::inspect::render(&report);
    let _ = report.usable();
    assert!(
        !rendered.chars().any(|c| c.is_control() && c != '\n'),
        "inspect sent a control character to the terminal"
    );
    for secret in ["X-Amz-Signature=", "X-Amz-Security-Token="] {
        if let Some(at) = text.find(secret) {
            let value: String = text[at + secret.len()..]
                .chars()
                .take_while(|c| *c != '&' && !c.is_whitespace())
                .collect();
            // Only a value that appears once: a host may legitimately repeat other text.
            if value.len() >= 16 && text.matches(value.as_str()).count() == 1 {
                assert!(!rendered.contains(&value), "inspect printed a secret");
            }
        }
    }
});
