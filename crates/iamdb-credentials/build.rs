//! Link-time tuning and the version string of `iamdb-credentials`, as for `iamdb`.

include!("../../build/common.rs");
