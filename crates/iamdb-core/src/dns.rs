//! One DNS question, asked the way a stub resolver asks it: which names a host name is an
//! alias of (its CNAME chain) and the addresses at the end of it. `getaddrinfo` reports only
//! the last name of a chain, and an RDS endpoint is itself a CNAME (of an instance, or of an
//! EC2 name), so iamdb reads the chain itself to find the AWS endpoint name in it.
//!
//! The servers, timeout and attempts come from `/etc/resolv.conf`. One `A` query answers both
//! questions in one round trip; a truncated answer is asked again over TCP.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// What DNS says about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name asked about, then each name the one before is a CNAME of, in lower case
    /// without the final dot.
    pub chain: Vec<String>,
    /// The IPv4 addresses at the end of the chain.
    pub addrs: Vec<IpAddr>,
    /// Which server answered.
    pub server: SocketAddr,
}

/// The resolver settings iamdb reads from `resolv.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    pub servers: Vec<SocketAddr>,
    pub timeout: Duration,
    pub attempts: u32,
}

impl Resolver {
    /// The system's resolver (`/etc/resolv.conf`).
    pub fn system() -> Result<Resolver, String> {
        #[cfg(unix)]
        {
            let path = "/etc/resolv.conf";
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let r = Resolver::parse(&text);
            if r.servers.is_empty() {
                return Err(format!("{path} names no nameserver"));
            }
            Ok(r)
        }
        #[cfg(not(unix))]
        {
            Err("reading DNS CNAME chains is implemented for Unix only".into())
        }
    }

    /// Reads `nameserver`, `options timeout:N attempts:N` as glibc does (at most three
    /// servers; glibc's defaults of 5 s and 2 attempts are shortened to 2 s and 2 attempts,
    /// since a lookup that slow fails a login anyway).
    pub fn parse(text: &str) -> Resolver {
        let mut r = Resolver {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok())
                        && r.servers.len() < 3
                    {
                        r.servers.push(SocketAddr::new(ip, 53));
                    }
                }
                Some("options") => {
                    for w in words {
                        if let Some(n) = w.strip_prefix("timeout:").and_then(|n| n.parse().ok()) {
                            r.timeout = Duration::from_secs(u64::clamp(n, 1, 5));
                        } else if let Some(n) =
                            w.strip_prefix("attempts:").and_then(|n| n.parse().ok())
                        {
                            r.attempts = u32::clamp(n, 1, 5);
                        }
                    }
                }
                _ => {}
            }
        }
        r
    }

    /// Asks for `name`'s A records (and with them its CNAME chain), trying each server in
    /// turn. A name that does not exist is an answer (a chain of one name, no addresses), not
    /// an error.
    pub fn lookup(&self, name: &str) -> Result<Answer, String> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let query = encode_query(&name, query_id())?;
        let mut last = String::from("no nameserver to ask");
        for _ in 0..self.attempts {
            for server in &self.servers {
                match self.ask(*server, &query) {
                    Ok(reply) => match decode(&reply, &query, &name) {
                        Ok((chain, addrs)) => {
                            return Ok(Answer {
                                chain,
                                addrs,
                                server: *server,
                            });
                        }
                        Err(e) => last = format!("{server}: {e}"),
                    },
                    Err(e) => last = format!("{server}: {e}"),
                }
            }
        }
        Err(last)
    }

    fn ask(&self, server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
        let local: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(local).map_err(|e| e.to_string())?;
        sock.connect(server).map_err(|e| e.to_string())?;
        sock.send(query).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + self.timeout;
        let mut buf = vec![0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no answer within {} s", self.timeout.as_secs()));
            }
            sock.set_read_timeout(Some(left))
                .map_err(|e| e.to_string())?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(format!("no answer within {} s", self.timeout.as_secs()));
                }
                Err(e) => return Err(e.to_string()),
            };
            let reply = &buf[..n];
            // Not an answer to this question (a late reply to another): keep waiting.
            if reply.len() < 12 || reply[..2] != query[..2] || reply[2] & 0x80 == 0 {
                continue;
            }
            if reply[2] & 0x02 != 0 {
                return self.ask_tcp(server, query);
            }
            return Ok(reply.to_vec());
        }
    }

    fn ask_tcp(&self, server: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
        let mut s = TcpStream::connect_timeout(&server, self.timeout).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(self.timeout))
            .map_err(|e| e.to_string())?;
        let len = u16::try_from(query.len()).map_err(|_| "query too long".to_string())?;
        let mut msg = len.to_be_bytes().to_vec();
        msg.extend_from_slice(query);
        s.write_all(&msg).map_err(|e| e.to_string())?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).map_err(|e| e.to_string())?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut reply).map_err(|e| e.to_string())?;
        Ok(reply)
    }
}

/// A query id that differs between processes and calls (it only has to match the reply).
fn query_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    (nanos ^ std::process::id().rotate_left(16)) as u16
}

/// A recursive query for `name`'s A records.
fn encode_query(name: &str, id: u16) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name} is not a DNS name"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    if q.len() > 12 + 255 {
        return Err(format!("{name} is too long for DNS"));
    }
    q.extend_from_slice(&[0, 1, 0, 1]);
    Ok(q)
}

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;

/// The CNAME chain from `name` and the A records at its end, from a reply to `query`.
fn decode(reply: &[u8], query: &[u8], name: &str) -> Result<(Vec<String>, Vec<IpAddr>), String> {
    let bad = || "malformed DNS reply".to_string();
    if reply.len() < 12 || reply[..2] != query[..2] {
        return Err(bad());
    }
    let rcode = reply[3] & 0x0f;
    match rcode {
        0 => {}
        3 => return Ok((vec![name.to_string()], Vec::new())),
        2 => return Err("the server failed (SERVFAIL)".into()),
        5 => return Err("the server refused the query".into()),
        n => return Err(format!("the server answered with error code {n}")),
    }
    let count = |at: usize| usize::from(u16::from_be_bytes([reply[at], reply[at + 1]]));
    let (questions, answers) = (count(4), count(6));
    let mut at = 12;
    for _ in 0..questions {
        at = read_name(reply, at)?.1 + 4;
    }
    let mut cnames: Vec<(String, String)> = Vec::new();
    let mut a: Vec<(String, IpAddr)> = Vec::new();
    for _ in 0..answers {
        let (owner, next) = read_name(reply, at)?;
        let header = reply.get(next..next + 10).ok_or_else(bad)?;
        let rtype = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[8], header[9]]));
        let data_at = next + 10;
        let data = reply.get(data_at..data_at + len).ok_or_else(bad)?;
        match rtype {
            TYPE_CNAME => cnames.push((owner, read_name(reply, data_at)?.0)),
            TYPE_A if len == 4 => a.push((
                owner,
                IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
            )),
            _ => {}
        }
        at = data_at + len;
    }
    let mut chain = vec![name.to_string()];
    while chain.len() <= 16 {
        let last = chain.last().map(String::as_str).unwrap_or_default();
        match cnames.iter().find(|(owner, _)| owner == last) {
            Some((_, target)) if !chain.contains(target) => chain.push(target.clone()),
            _ => break,
        }
    }
    let end = chain.last().cloned().unwrap_or_default();
    let addrs = a
        .into_iter()
        .filter(|(owner, _)| *owner == end)
        .map(|(_, ip)| ip)
        .collect();
    Ok((chain, addrs))
}

/// A (possibly compressed) name at `at`: the name in lower case and where what follows it
/// starts.
fn read_name(msg: &[u8], mut at: usize) -> Result<(String, usize), String> {
    let bad = || "malformed name in DNS reply".to_string();
    let mut labels: Vec<String> = Vec::new();
    let mut after = None;
    for _ in 0..128 {
        let len = *msg.get(at).ok_or_else(bad)?;
        match len {
            0 => {
                return Ok((labels.join("."), after.unwrap_or(at + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let lo = *msg.get(at + 1).ok_or_else(bad)?;
                after.get_or_insert(at + 2);
                at = (usize::from(l & 0x3f) << 8) | usize::from(lo);
            }
            l if l & 0xc0 == 0 => {
                let l = usize::from(l);
                let label = msg.get(at + 1..at + 1 + l).ok_or_else(bad)?;
                labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                at += 1 + l;
            }
            _ => return Err(bad()),
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in n.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    fn record(owner: &[u8], rtype: u16, data: &[u8]) -> Vec<u8> {
        let mut v = owner.to_vec();
        v.extend_from_slice(&rtype.to_be_bytes());
        v.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn the_whole_chain_and_the_addresses_at_its_end_are_read() {
        let q = encode_query("db.internal.example.com", 0x4242).unwrap();
        let mut reply = q.clone();
        reply[2] = 0x81;
        reply[3] = 0x80;
        reply[7] = 3;
        // Answer 1 points back at the question's name (offset 12), as servers compress it.
        reply.extend(record(
            &[0xc0, 12],
            TYPE_CNAME,
            &name("orders.cluster-c1.eu-west-1.rds.amazonaws.com"),
        ));
        let cluster_at = q.len() + 12;
        reply.extend(record(
            &[0xc0, cluster_at as u8],
            TYPE_CNAME,
            &name("ec2-1-2-3-4.eu-west-1.compute.amazonaws.com"),
        ));
        reply.extend(record(
            &name("ec2-1-2-3-4.eu-west-1.compute.amazonaws.com"),
            TYPE_A,
            &[10, 1, 2, 3],
        ));
        let (chain, addrs) = decode(&reply, &q, "db.internal.example.com").unwrap();
        assert_eq!(
            chain,
            [
                "db.internal.example.com",
                "orders.cluster-c1.eu-west-1.rds.amazonaws.com",
                "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com"
            ]
        );
        assert_eq!(addrs, [IpAddr::from([10, 1, 2, 3])]);
    }

    #[test]
    fn a_name_that_does_not_exist_is_a_chain_of_one() {
        let q = encode_query("nowhere.example", 7).unwrap();
        let mut reply = q.clone();
        reply[2] = 0x81;
        reply[3] = 0x83;
        assert_eq!(
            decode(&reply, &q, "nowhere.example").unwrap(),
            (vec!["nowhere.example".to_string()], vec![])
        );
        reply[3] = 0x82;
        assert!(decode(&reply, &q, "nowhere.example").is_err());
    }

    #[test]
    fn truncated_or_looping_replies_are_errors_not_panics() {
        let q = encode_query("a.example", 9).unwrap();
        let mut reply = q.clone();
        reply[2] = 0x81;
        reply[7] = 1;
        reply.extend_from_slice(&[0xc0, 200]);
        assert!(decode(&reply, &q, "a.example").is_err());
        let mut looped = q.clone();
        looped[2] = 0x81;
        looped[7] = 1;
        let at = looped.len() as u8;
        looped.extend_from_slice(&[0xc0, at]);
        assert!(decode(&looped, &q, "a.example").is_err());
        for cut in 0..reply.len() {
            let _ = decode(&reply[..cut], &q, "a.example");
        }
    }

    #[test]
    fn resolv_conf_is_read_like_glibc_reads_it() {
        let r = Resolver::parse(
            "# c\nsearch example.com\nnameserver 10.0.0.2\nnameserver ::1\nnameserver x\n\
             nameserver 10.0.0.3\nnameserver 10.0.0.4\noptions ndots:2 timeout:1 attempts:3\n",
        );
        assert_eq!(
            r.servers,
            [
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap(),
                "10.0.0.3:53".parse().unwrap()
            ]
        );
        assert_eq!((r.timeout, r.attempts), (Duration::from_secs(1), 3));
    }
}
