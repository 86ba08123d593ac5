//! What each database client reads: file formats, escaping and environments. Pure functions
//! where possible; the commands in `cmd/` do the I/O.

pub mod mysql;
pub mod pgadmin;
pub mod postgres;
pub mod valkey;
