//! A private DNS server for one test: dnsmasq on a loopback address of its own, serving
//! CNAMEs (a company alias of an RDS-like name) and addresses, logging every query, and the
//! `resolv.conf` that points at it, bind-mounted over `/etc/resolv.conf` in a private mount
//! namespace for the commands the test runs. Nothing outside the test sees either.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::*;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

pub fn available() -> bool {
    present(
        "dnsmasq",
        "dnsmasq (Debian dnsmasq-base)",
        Path::new(DNSMASQ).exists(),
    )
}

pub struct Dns {
    pub addr: String,
    log: PathBuf,
    resolv: PathBuf,
    child: Child,
}

static NEXT: AtomicU8 = AtomicU8::new(1);

impl Dns {
    /// dnsmasq in `sb`'s directory answering `cnames` (alias, target) and `hosts` (name,
    /// IPv4 address), and nothing else (no upstream, no /etc/hosts).
    pub fn start(sb: &Sandbox, cnames: &[(&str, &str)], hosts: &[(&str, &str)]) -> Dns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let addr = format!("127.0.53.{n}");
        let dir = sb.root.join("dns");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("queries.log");
        let resolv = dir.join("resolv.conf");
        std::fs::write(
            &resolv,
            format!("nameserver {addr}\noptions timeout:1 attempts:1\n"),
        )
        .unwrap();
        let mut cmd = Command::new(DNSMASQ);
        cmd.args([
            "--keep-in-foreground",
            "--port=53",
            &format!("--listen-address={addr}"),
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--no-negcache",
            "--log-queries",
            &format!("--log-facility={}", log.display()),
            "--pid-file=",
        ]);
        for (alias, target) in cnames {
            cmd.arg(format!("--cname={alias},{target}"));
        }
        for (name, ip) in hosts {
            cmd.arg(format!("--host-record={name},{ip}"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq");
        at_exit(Cleanup::Stop(child.id()));
        let dns = Dns {
            addr,
            log,
            resolv,
            child,
        };
        // Ready when it answers (its log says so before it listens).
        let start = Instant::now();
        while !dns.log_text().contains("cleared cache") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dnsmasq did not start: {}",
                dns.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        dns
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many questions about `name` the server has been asked.
    pub fn queries(&self, name: &str) -> usize {
        // Logged as `query[A] NAME from 127.0.0.1`; the log is written as it goes.
        std::thread::sleep(Duration::from_millis(50));
        self.log_text()
            .lines()
            .filter(|l| l.contains("query[") && l.contains(&format!("] {name} from")))
            .count()
    }

    /// `iamdb args` in `sb`, with this server as its only DNS server.
    pub fn iamdb(&self, sb: &Sandbox, args: &[&str]) -> Command {
        self.command(sb, BIN, args)
    }

    /// `program args` in `sb`, with this server as its only DNS server (a private mount
    /// namespace where `/etc/resolv.conf` is this server's).
    pub fn command(&self, sb: &Sandbox, program: &str, args: &[&str]) -> Command {
        let mut c = sb.command("unshare");
        c.args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
        ])
        .arg(&self.resolv)
        .arg(program)
        .args(args);
        c
    }

    pub fn run(&self, sb: &Sandbox, args: &[&str]) -> Run {
        Run::from(self.iamdb(sb, args).output().unwrap())
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
