//! Lcores: enumeration and scoped launch of closures on EAL worker lcores.
//!
//! EAL pins each lcore's thread to its core. [`scope`] works like `std::thread::scope`:
//! closures may borrow from the caller because the scope waits for every launched lcore
//! before it returns (also when the caller unwinds).

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::marker::PhantomData;

use crate::error::{Errno, Error, Result};

/// The id of the calling lcore (`u32::MAX` for non-EAL threads).
pub fn current() -> u32 {
    // SAFETY: plain getter of a thread-local.
    unsafe { crate::ffi::rte_lcore_id() }
}

/// The main lcore (the thread that called `rte_eal_init`).
pub fn main_lcore() -> u32 {
    // SAFETY: plain getter.
    unsafe { crate::ffi::rte_get_main_lcore() }
}

/// Worker lcores (every enabled lcore except the main one), in id order.
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    // SAFETY: rte_get_next_lcore iterates EAL's lcore table; u32::MAX (-1) starts the walk
    // and RTE_MAX_LCORE ends it.
    let mut id = unsafe { crate::ffi::rte_get_next_lcore(u32::MAX, 1, 0) };
    while id < crate::ffi::RTE_MAX_LCORE {
        out.push(id);
        // SAFETY: as above.
        id = unsafe { crate::ffi::rte_get_next_lcore(id, 1, 0) };
    }
    out
}

/// CPU core the given lcore is pinned to.
pub fn cpu_of(lcore: u32) -> i32 {
    // SAFETY: plain getter; returns -1 for unknown lcores.
    unsafe { crate::ffi::rte_lcore_to_cpu_id(lcore as c_int) }
}

type Job<'scope> = Box<dyn FnOnce() -> i32 + Send + 'scope>;

/// A launch scope; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    launched: RefCell<Vec<u32>>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `Scope::launch`, handed to exactly one lcore.
    let job: Box<Job<'static>> = unsafe { Box::from_raw(arg.cast::<Job<'static>>()) };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(-1)
}

impl<'scope> Scope<'scope, '_> {
    /// Runs `f` on worker lcore `lcore`. The lcore must be idle.
    pub fn launch<F>(&'scope self, lcore: u32, f: F) -> Result<()>
    where
        F: FnOnce() -> i32 + Send + 'scope,
    {
        let job: Job<'scope> = Box::new(f);
        // SAFETY: the job may borrow data living for 'scope; `scope` waits for this lcore
        // before 'scope ends, so erasing the lifetime cannot let the job outlive its borrows.
        let job: Job<'static> = unsafe { std::mem::transmute::<Job<'scope>, Job<'static>>(job) };
        let raw = Box::into_raw(Box::new(job));
        // SAFETY: trampoline matches lcore_function_t; raw is a valid leaked Box.
        let ret = unsafe { crate::ffi::rte_eal_remote_launch(Some(trampoline), raw.cast(), lcore) };
        if ret != 0 {
            // SAFETY: launch failed, so no lcore took ownership of the job; reclaim it.
            drop(unsafe { Box::from_raw(raw) });
            return Err(Error::Launch {
                lcore,
                errno: Errno(-ret),
            });
        }
        self.launched.borrow_mut().push(lcore);
        Ok(())
    }
}

struct WaitGuard<'a, 'scope, 'env>(&'a Scope<'scope, 'env>, Vec<(u32, i32)>);

impl WaitGuard<'_, '_, '_> {
    fn wait(&mut self) {
        let lcores: Vec<u32> = self.0.launched.borrow_mut().drain(..).collect();
        for lcore in lcores {
            // SAFETY: waits for a lcore we launched; blocks until its job has returned.
            let rc = unsafe { crate::ffi::rte_eal_wait_lcore(lcore) };
            self.1.push((lcore, rc));
        }
    }
}

impl Drop for WaitGuard<'_, '_, '_> {
    fn drop(&mut self) {
        self.wait();
    }
}

/// Runs `f` with a [`Scope`] in which closures can be launched on worker lcores, then waits
/// for all of them. Returns `f`'s result and each launched lcore's return code.
pub fn scope<'env, F, T>(f: F) -> (T, Vec<(u32, i32)>)
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        launched: RefCell::new(Vec::new()),
        _scope: PhantomData,
        _env: PhantomData,
    };
    let mut guard = WaitGuard(&scope, Vec::new());
    let out = f(&scope);
    guard.wait();
    let codes = std::mem::take(&mut guard.1);
    (out, codes)
}
