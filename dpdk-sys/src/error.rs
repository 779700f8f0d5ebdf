//! Typed errors for the safe DPDK layer: negative errno returns become values that name
//! the operation that failed.

use std::ffi::CStr;
use std::fmt;

/// A positive errno value as DPDK reports it (`-ret` or `rte_errno`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The errno from a negative return code (`-ret`), or from `rte_errno` if `ret` is not
    /// negative (some APIs return -1 and set `rte_errno`).
    pub fn from_ret(ret: i32) -> Errno {
        if ret < -1 {
            Errno(-ret)
        } else {
            Errno::last()
        }
    }

    /// The calling thread's `rte_errno`.
    pub fn last() -> Errno {
        // SAFETY: reads a thread-local integer through the shim; no pointers involved.
        Errno(unsafe { crate::ffi::srgate_rte_errno() })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
        // string that stays valid until the next call on this thread; we copy it at once.
        let msg = unsafe {
            let p = crate::ffi::rte_strerror(self.0);
            if p.is_null() {
                String::from("unknown error")
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        write!(f, "{msg} (errno {})", self.0)
    }
}

/// Everything the safe DPDK layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `rte_eal_init` failed.
    #[error("EAL initialisation failed: {0}")]
    EalInit(Errno),
    /// EAL can be initialised once per process.
    #[error("EAL is already initialised in this process")]
    EalAlreadyInitialised,
    /// An argument or name contained a NUL byte.
    #[error("{0:?} contains a NUL byte")]
    Nul(String),
    /// Creating a mempool failed.
    #[error("creating mempool {name:?} ({n} mbufs) failed: {errno}")]
    MempoolCreate {
        /// Pool name.
        name: String,
        /// Requested number of mbufs.
        n: u32,
        /// Reason.
        errno: Errno,
    },
    /// No ethdev with that name exists (check the --vdev / -a arguments).
    #[error("no DPDK port named {0:?} (check the vdev or PCI address)")]
    PortNotFound(String),
    /// An ethdev operation failed.
    #[error("port {port}: {op} failed: {errno}")]
    Port {
        /// Port id.
        port: u16,
        /// The DPDK function that failed.
        op: &'static str,
        /// Reason.
        errno: Errno,
    },
    /// A queue index outside what the port was configured with, or already taken.
    #[error("port {port}: {kind} queue {queue} is out of range or already in use")]
    QueueUnavailable {
        /// Port id.
        port: u16,
        /// "rx" or "tx".
        kind: &'static str,
        /// Queue index.
        queue: u16,
    },
    /// Launching a function on an lcore failed.
    #[error("lcore {lcore}: launch failed: {errno}")]
    Launch {
        /// Lcore id.
        lcore: u32,
        /// Reason (EBUSY: the lcore is not idle).
        errno: Errno,
    },
}

/// Result alias for the safe DPDK layer.
pub type Result<T> = std::result::Result<T, Error>;
