//! What differs between operating systems, in one place: file ownership and modes, who the
//! user is, signals, and handing a file to a child through `/dev/fd`. Unix (Linux, macOS) is
//! in `unix.rs`; `other.rs` serves the rest (Windows), where a command that cannot work says
//! so when it runs. Nothing outside this module uses `std::os::unix` or `libc`, except the
//! kernel keyring store (Linux only) and the signal-safe file replacement the stores share.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
pub use other::*;
