//! Link-time tuning and the version string of `iamdb`. Nothing here changes behaviour.

include!("build/common.rs");
