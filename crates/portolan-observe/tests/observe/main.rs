//! portolan-observe against real processes: what `kill` signals is the process it showed,
//! even when that process exits and its pid is reused before the signal.

mod pid_reuse;
