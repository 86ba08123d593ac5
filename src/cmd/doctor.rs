//! `iamdb doctor [PROFILE]`: iamdb-core's checks, printed as they complete, or as JSON.

use std::path::Path;

use serde_json::json;

use iamdb_core::config::Config;
use iamdb_core::doctor::{self, Event, Status};
use iamdb_core::error::{Error, Kind, Result};

use crate::cli::{DoctorArgs, Format};
use crate::output;

pub fn run(config_path: Option<&Path>, args: DoctorArgs) -> Result<()> {
    let config = Config::load(config_path);
    let text = args.format == Format::Text;
    let mut printed = Ok(());
    let reports = doctor::run(&config, args.profile.as_deref(), &mut |event| {
        if !text || printed.is_err() {
            return;
        }
        let line = match event {
            Event::Profile(Some(name)) => format!("profile {name}\n"),
            Event::Profile(None) => "AWS credentials (no profile in the config file)\n".into(),
            Event::Check(c) => {
                let mark = match c.status {
                    Status::Pass => "ok  ",
                    Status::Fail => "FAIL",
                    Status::Skip => "skip",
                };
                let mut line = format!("  {mark}  {:<12} {}\n", c.name, c.detail);
                if let Some(f) = &c.fix {
                    line.push_str(&format!("        {:<12} fix: {f}\n", ""));
                }
                line
            }
        };
        printed = output::print(&line);
    });
    printed?;
    let failed: usize = reports
        .iter()
        .map(|r| r.checks.iter().filter(|c| c.status == Status::Fail).count())
        .sum();
    match args.format {
        Format::Json => output::json(&json!({ "ok": failed == 0, "profiles": reports }))?,
        Format::Text => output::print(&match failed {
            0 => "All checks passed.\n".to_string(),
            1 => "1 check failed.\n".to_string(),
            n => format!("{n} checks failed.\n"),
        })?,
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::silent(Kind::Check))
    }
}
