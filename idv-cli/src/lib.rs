//! The `idv` command line: verify image files directly through the library, in batches, and
//! administer a server's store.

pub mod batch;
pub mod report;
