/*
 * Hand-written C for what bindgen cannot reach: true macros.
 * Compiled with the flags of `pkg-config --cflags libdpdk`.
 */
#include <rte_errno.h>
#include <rte_mbuf.h>

/* rte_errno is a per-lcore (thread-local) variable behind a macro. */
int srgate_rte_errno(void) { return rte_errno; }

/* rte_pktmbuf_mtod is a macro: pointer to the packet's first data byte. */
void *srgate_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
