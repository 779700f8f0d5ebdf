//! Ethernet ports (ethdev): configuration with N RX/TX queues and RSS, start/stop, stats,
//! link, and per-queue handles for the workers.
//!
//! A [`Port`] is stopped and closed when dropped. Queue handles borrow the port, so no
//! worker can poll a closed port; each queue can be handed out once at a time, because
//! DPDK queues are not thread-safe.

use std::ffi::{c_char, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Errno, Error, Result};
use crate::ffi;
use crate::mbuf::PktBurst;
use crate::mempool::PktMempool;

/// How to configure a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// RX queues (one worker each). At most 64; 0 makes a TX-only port. 0 makes a TX-only port.
    pub rx_queues: u16,
    /// TX queues (one per lcore that may send on this port). At most 64.
    pub tx_queues: u16,
    /// RX descriptors per queue.
    pub rx_desc: u16,
    /// TX descriptors per queue.
    pub tx_desc: u16,
    /// Receive every frame whatever its destination MAC.
    pub promiscuous: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            promiscuous: true,
        }
    }
}

/// Port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the hardware dropped because RX queues were full.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// RX mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// Link state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Link is up.
    pub up: bool,
    /// Speed in Mb/s (0 when unknown).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
}

/// A configured ethdev port.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    config: PortConfig,
    rss_hf: u64,
    started: bool,
    rx_taken: AtomicU64,
    tx_taken: AtomicU64,
    _pool: Arc<PktMempool>,
}

fn check(port: u16, op: &'static str, ret: i32) -> Result<()> {
    if ret < 0 {
        Err(Error::Port {
            port,
            op,
            errno: Errno(-ret),
        })
    } else {
        Ok(())
    }
}

/// Number of ports EAL probed.
pub fn count() -> u16 {
    // SAFETY: plain getter.
    unsafe { ffi::rte_eth_dev_count_avail() }
}

/// Finds a port by its device name (vdev name such as `net_pcap0`, or PCI address).
pub fn id_by_name(name: &str) -> Result<u16> {
    let c = CString::new(name).map_err(|_| Error::Nul(name.to_string()))?;
    let mut id = 0u16;
    // SAFETY: c is a valid C string and id a valid out pointer.
    let ret = unsafe { ffi::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
    if ret < 0 {
        return Err(Error::PortNotFound(name.to_string()));
    }
    Ok(id)
}

/// Device name of port `id`.
pub fn name_of(id: u16) -> Option<String> {
    let mut buf = [0 as c_char; ffi::RTE_ETH_NAME_MAX_LEN as usize];
    // SAFETY: buf is RTE_ETH_NAME_MAX_LEN bytes, as the API requires.
    let ret = unsafe { ffi::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
    if ret < 0 {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated string.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

impl Port {
    /// Configures port `id`: `cfg.rx_queues` RX queues fed from `pool` (with RSS over IP,
    /// TCP and UDP as far as the device supports it when there are several) and
    /// `cfg.tx_queues` TX queues. The port is not started.
    pub fn configure(id: u16, cfg: &PortConfig, pool: Arc<PktMempool>) -> Result<Port> {
        if cfg.rx_queues > 64 || cfg.tx_queues == 0 || cfg.tx_queues > 64 {
            return Err(Error::Port {
                port: id,
                op: "configure (RX queues must be 0..=64, TX queues 1..=64)",
                errno: Errno(22),
            });
        }
        // SAFETY: rte_eth_dev_info is plain data; zeroed is a valid initial value.
        let mut info: ffi::rte_eth_dev_info = unsafe { std::mem::zeroed() };
        // SAFETY: valid out pointer.
        check(id, "rte_eth_dev_info_get", unsafe {
            ffi::rte_eth_dev_info_get(id, &mut info)
        })?;
        if cfg.rx_queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
            return Err(Error::Port {
                port: id,
                op: "configure (more queues than the device supports)",
                errno: Errno(22),
            });
        }
        // SAFETY: rte_eth_conf is plain data; zeroed means "defaults" to DPDK.
        let mut conf: ffi::rte_eth_conf = unsafe { std::mem::zeroed() };
        let wanted_rss = (ffi::RTE_ETH_RSS_IP | ffi::RTE_ETH_RSS_TCP | ffi::RTE_ETH_RSS_UDP) as u64;
        let rss_hf = wanted_rss & info.flow_type_rss_offloads;
        if cfg.rx_queues > 1 && rss_hf != 0 {
            conf.rxmode.mq_mode = ffi::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        }
        if info.tx_offload_capa & (ffi::RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE as u64) != 0 {
            conf.txmode.offloads |= ffi::RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE as u64;
        }
        // SAFETY: conf is a valid, initialised configuration.
        check(id, "rte_eth_dev_configure", unsafe {
            ffi::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf)
        })?;
        let mut rx_desc = cfg.rx_desc;
        let mut tx_desc = cfg.tx_desc;
        // SAFETY: valid out pointers to the descriptor counts.
        check(id, "rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
            ffi::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc)
        })?;
        // SAFETY: plain getter.
        let socket = unsafe { ffi::rte_eth_dev_socket_id(id) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..cfg.rx_queues {
            // SAFETY: NULL rx_conf means driver defaults; the pool outlives the port
            // because the port keeps an Arc to it.
            check(id, "rte_eth_rx_queue_setup", unsafe {
                ffi::rte_eth_rx_queue_setup(id, q, rx_desc, socket, std::ptr::null(), pool.as_ptr())
            })?;
        }
        let mut txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        for q in 0..cfg.tx_queues {
            // SAFETY: txconf is a valid configuration derived from the driver's defaults.
            check(id, "rte_eth_tx_queue_setup", unsafe {
                ffi::rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txconf)
            })?;
        }
        if cfg.promiscuous {
            // SAFETY: plain call on a configured port; failure (unsupported) is harmless.
            unsafe { ffi::rte_eth_promiscuous_enable(id) };
        }
        Ok(Port {
            id,
            name: name_of(id).unwrap_or_else(|| format!("port{id}")),
            config: cfg.clone(),
            rss_hf: if cfg.rx_queues > 1 { rss_hf } else { 0 },
            started: false,
            rx_taken: AtomicU64::new(0),
            tx_taken: AtomicU64::new(0),
            _pool: pool,
        })
    }

    /// Port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration the port was set up with.
    pub fn config(&self) -> &PortConfig {
        &self.config
    }

    /// RSS hash functions enabled (0: RSS off).
    pub fn rss_hf(&self) -> u64 {
        self.rss_hf
    }

    /// Starts the port.
    pub fn start(&mut self) -> Result<()> {
        // SAFETY: configured port.
        check(self.id, "rte_eth_dev_start", unsafe {
            ffi::rte_eth_dev_start(self.id)
        })?;
        self.started = true;
        Ok(())
    }

    /// Stops the port (queues keep their configuration).
    pub fn stop(&mut self) -> Result<()> {
        if self.started {
            self.started = false;
            // SAFETY: started port; no queue handle is alive because they borrow self.
            check(self.id, "rte_eth_dev_stop", unsafe {
                ffi::rte_eth_dev_stop(self.id)
            })?;
        }
        Ok(())
    }

    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        let mut a = ffi::rte_ether_addr::default();
        // SAFETY: valid out pointer.
        unsafe { ffi::rte_eth_macaddr_get(self.id, &mut a) };
        a.addr_bytes
    }

    /// Current counters.
    pub fn stats(&self) -> Result<PortStats> {
        let mut s = ffi::rte_eth_stats::default();
        // SAFETY: valid out pointer.
        check(self.id, "rte_eth_stats_get", unsafe {
            ffi::rte_eth_stats_get(self.id, &mut s)
        })?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Link state without waiting.
    pub fn link(&self) -> Result<LinkStatus> {
        // SAFETY: rte_eth_link is plain data.
        let mut l: ffi::rte_eth_link = unsafe { std::mem::zeroed() };
        // SAFETY: valid out pointer.
        check(self.id, "rte_eth_link_get_nowait", unsafe {
            ffi::rte_eth_link_get_nowait(self.id, &mut l)
        })?;
        Ok(LinkStatus {
            up: l.link_status() != 0,
            speed_mbps: l.link_speed,
            full_duplex: l.link_duplex() != 0,
        })
    }

    fn take(&self, taken: &AtomicU64, kind: &'static str, queue: u16, max: u16) -> Result<()> {
        let bit = 1u64 << (queue.min(63));
        if queue >= max || taken.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(Error::QueueUnavailable {
                port: self.id,
                kind,
                queue,
            });
        }
        Ok(())
    }

    /// The handle of RX queue `queue`, for exactly one worker.
    pub fn rx_queue(&self, queue: u16) -> Result<RxQueue<'_>> {
        self.take(&self.rx_taken, "rx", queue, self.config.rx_queues)?;
        Ok(RxQueue { port: self, queue })
    }

    /// The handle of TX queue `queue`, for exactly one lcore.
    pub fn tx_queue(&self, queue: u16) -> Result<TxQueue<'_>> {
        self.take(&self.tx_taken, "tx", queue, self.config.tx_queues)?;
        Ok(TxQueue { port: self, queue })
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        let _ = self.stop();
        // SAFETY: the port is stopped and no queue handle borrows it any more.
        unsafe { ffi::rte_eth_dev_close(self.id) };
    }
}

/// Exclusive handle on one RX queue.
#[derive(Debug)]
pub struct RxQueue<'p> {
    port: &'p Port,
    queue: u16,
}

impl RxQueue<'_> {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to `max` packets into the free slots of `burst`; returns how many.
    #[inline]
    pub fn rx_burst(&mut self, burst: &mut PktBurst, max: usize) -> usize {
        let (ptr, spare) = burst.spare_raw();
        let n = max.min(spare).min(u16::MAX as usize) as u16;
        if n == 0 {
            return 0;
        }
        // SAFETY: this handle is the only user of (port, queue) (enforced by `take`); ptr
        // has room for n mbuf pointers.
        let got = unsafe { ffi::rte_eth_rx_burst(self.port.id, self.queue, ptr, n) } as usize;
        // SAFETY: the driver wrote `got` valid mbufs that we now own.
        unsafe { burst.commit(got) };
        got
    }
}

impl Drop for RxQueue<'_> {
    fn drop(&mut self) {
        self.port
            .rx_taken
            .fetch_and(!(1u64 << self.queue), Ordering::AcqRel);
    }
}

/// Exclusive handle on one TX queue.
#[derive(Debug)]
pub struct TxQueue<'p> {
    port: &'p Port,
    queue: u16,
}

impl TxQueue<'_> {
    /// Port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// Queue index.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends what `burst` holds; the mbufs the queue did not accept stay in `burst` (at its
    /// front). Returns how many were sent.
    #[inline]
    pub fn tx_burst(&mut self, burst: &mut PktBurst) -> usize {
        let (ptr, len) = burst.held_raw();
        if len == 0 {
            return 0;
        }
        // SAFETY: exclusive (port, queue) handle; ptr holds `len` owned mbufs; the driver
        // takes ownership of the first `sent` ones.
        let sent = unsafe { ffi::rte_eth_tx_burst(self.port.id, self.queue, ptr, len as u16) };
        burst.consume_front(sent as usize);
        sent as usize
    }
}

impl Drop for TxQueue<'_> {
    fn drop(&mut self) {
        self.port
            .tx_taken
            .fetch_and(!(1u64 << self.queue), Ordering::AcqRel);
    }
}
