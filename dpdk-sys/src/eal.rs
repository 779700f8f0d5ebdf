//! EAL initialisation and teardown.
//!
//! EAL can be initialised once per process; [`Eal`] is the proof that it is, and calls
//! `rte_eal_cleanup` when dropped (after every port, pool and lcore user is gone, which the
//! borrow of `&Eal` by those types' constructors does not enforce, so keep `Eal` the
//! longest-lived value in `main`).

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Errno, Error, Result};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// A live EAL. Dropping it runs `rte_eal_cleanup`.
#[derive(Debug)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Initialises EAL with `args` (the first one is the program name, as in `argv[0]`).
    ///
    /// Returns an error if EAL was already initialised in this process, if an argument
    /// contains a NUL byte, or if `rte_eal_init` fails.
    pub fn init<I, S>(args: I) -> Result<Eal>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(Error::EalAlreadyInitialised);
        }
        let mut owned = Vec::new();
        for a in args {
            let a = a.as_ref();
            owned.push(CString::new(a).map_err(|_| Error::Nul(a.to_string()))?);
        }
        // EAL may keep pointers into argv (and permutes it), so the strings live for the
        // rest of the process.
        let leaked: &'static mut [CString] = Box::leak(owned.into_boxed_slice());
        let mut argv: Vec<*mut c_char> = leaked.iter().map(|c| c.as_ptr().cast_mut()).collect();
        argv.push(std::ptr::null_mut());
        let argc = (argv.len() - 1) as c_int;
        let argv: &'static mut [*mut c_char] = Box::leak(argv.into_boxed_slice());
        // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, and both
        // the array and the strings are leaked so they outlive EAL.
        let ret = unsafe { crate::ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::EalInit(Errno::last()));
        }
        Ok(Eal { _private: () })
    }

    /// The DPDK version string EAL runs on, e.g. `DPDK 22.11.11`.
    pub fn version() -> String {
        version()
    }

    /// Socket (NUMA node) of the calling lcore.
    pub fn socket_id(&self) -> i32 {
        // SAFETY: plain getter.
        unsafe { crate::ffi::rte_socket_id() as i32 }
    }
}

/// The DPDK version string of the linked library (works without EAL).
pub fn version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated string.
    unsafe {
        let p = crate::ffi::rte_version();
        if p.is_null() {
            return String::from("DPDK (unknown)");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: EAL was initialised by this value; all users are gone by contract.
        unsafe {
            crate::ffi::rte_eal_cleanup();
        }
    }
}
