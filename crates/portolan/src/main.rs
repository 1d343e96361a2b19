//! The `portolan` binary: everything lives in the library so it can be tested.

// mimalloc: parsing a large spec is allocation-bound, and glibc malloc is ~35 % slower there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    portolan::run()
}
