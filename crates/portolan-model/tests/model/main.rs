//! Integration tests of portolan-model (one test binary): property tests of the port and
//! address algebra, and of the loader on arbitrary input; replay of the fuzz corpus.

mod chunked;
mod corpus;
mod ids;
mod limits;
mod props;
