#!/usr/bin/env python3
"""Regenerate the seed corpora in fuzz/corpus/<harness>/: a few small valid
inputs per harness, in each harness's input format (see its header)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

def put(h, name, data):
    d = os.path.join(HERE, 'corpus', h)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

# --- xenstored: a client byte stream of xs_wire messages ----------------
XS = dict(DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5, TXN_START=6,
          TXN_END=7, RELEASE=9, GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13,
          SET_PERMS=14, IS_INTRODUCED=17, RESET_WATCHES=21, DIRECTORY_PART=22)

def msg(t, payload, req=1, tx=0):
    return struct.pack('<IIII', XS[t], req, tx, len(payload)) + payload

put('xenstored', 'rw', msg('WRITE', b'/a/b\0hello') + msg('READ', b'/a/b\0')
    + msg('DIRECTORY', b'/a\0') + msg('GET_PERMS', b'/a/b\0'))
put('xenstored', 'watch', msg('WATCH', b'/a\0tok\0') + msg('MKDIR', b'/a/c\0')
    + msg('RM', b'/a\0') + msg('UNWATCH', b'/a\0tok\0')
    + msg('RESET_WATCHES', b''))
put('xenstored', 'txn', msg('TXN_START', b'\0') + msg('WRITE', b'x\0v', tx=1)
    + msg('TXN_END', b'T\0', tx=1) + msg('SET_PERMS', b'x\0n0\0r5\0')
    + msg('DIRECTORY_PART', b'/local/domain/0\0' + b'0\0'))
put('xenstored', 'registry',
    msg('WRITE', b'/tool/stagenet/domain/7/pid\0' + b'1')
    + msg('IS_INTRODUCED', b'7\0') + msg('GET_DOMAIN_PATH', b'7\0')
    + msg('RELEASE', b'7\0'))
put('xenstored', 'bad', struct.pack('<IIII', 2, 1, 0, 5000))

# --- tx_ring: u32 attach index, u32 req_prod, then tx ring slots ---------
def txreq(gref, off, flags, id_, size):
    return struct.pack('<IHHHH', gref, off, flags, id_, size)

MORE, EXTRA = 4, 8
def gso_extra(size=1448, more=False):
    # netif_extra_info: type, flags, u.gso {size, type, pad, features}
    return struct.pack('<BBHBBH', 1, 1 if more else 0, size, 1, 0, 0) + b'\0' * 4

put('tx_ring', 'one', struct.pack('<II', 0, 1) + txreq(8, 0, 0, 0, 60))
put('tx_ring', 'frags', struct.pack('<II', 0, 3)
    + txreq(8, 0, MORE, 0, 3000) + txreq(9, 0, MORE, 1, 1500)
    + txreq(10, 100, 0, 2, 1000))
put('tx_ring', 'gso', struct.pack('<II', 10, 13)
    + b'\0' * (12 * 10) + txreq(8, 0, EXTRA | MORE, 0, 9000)
    + gso_extra() + txreq(9, 0, 0, 1, 4096))
put('tx_ring', 'wrap', struct.pack('<II', 0xffffffff, 1)
    + b'\0' * (12 * 255) + txreq(8, 0, 0, 7, 100))
put('tx_ring', 'overflow', struct.pack('<II', 0, 300) + txreq(8, 0, 0, 0, 60))

# --- rx_ring: split byte, then rx part [start, posted, rsp_prod, slots],
# then tx part [start, posted, rsp_prod, 32-byte pending map, tx rsps] ---
def rxrsp(id_, off, flags, status):
    return struct.pack('<HHHh', id_, off, flags, status)

def txrsp(id_, status):
    return struct.pack('<Hh', id_, status) + b'\0' * 8

def rx_input(rx, tx):
    # harness: rx part = data[1 : 1 + 12 + 16 * split]
    split = (len(rx) - 12 + 15) // 16
    rx = rx + b'\0' * (12 + split * 16 - len(rx))
    return bytes([split]) + rx + tx

rx1 = struct.pack('<III', 0, 4, 2) + rxrsp(0, 0, 4, 1000) + rxrsp(1, 0, 0, 500)
pending = bytearray(32); pending[0] = 0x07
tx1 = struct.pack('<III', 0, 3, 3) + bytes(pending) + txrsp(0, 0) + txrsp(1, -1) + txrsp(2, 0)
put('rx_ring', 'basic', rx_input(rx1, tx1))
rx2 = struct.pack('<III', 5, 2, 7) + b'\0' * 40 + rxrsp(3, 64, 8, 60) \
    + struct.pack('<BBHBBH', 1, 0, 1448, 1, 0, 0) + b'\0' * 0
tx2 = struct.pack('<III', 0, 2, 2) + bytes(pending) + txrsp(0, 0) + txrsp(0, 0)
put('rx_ring', 'dup', rx_input(rx2, tx2))

# --- ctrl: u8 flags, u8 fault rate, u8 nreq, nreq x request, list bytes ---
# Request words 0xfeedNNNN name list page NNNN; list refs 0xda7aNNNN name
# data page NNNN (pages 16..23 are granted read-only).
def creq(type_, d0=0, d1=0, d2=0):
    return struct.pack('<HHIII', 0, type_, d0, d1, d2)

def grefs(refs, ro=()):
    return b''.join(struct.pack('<IHH', 0xda7a0000 + r,
                                1 if r in ro else 0, 0) for r in refs)

def ctrl(flags, rate, reqs, lists=b''):
    return bytes([flags, rate, len(reqs)]) + b''.join(reqs) + lists

LIST0, LIST1 = 0xfeed0000, 0xfeed0001
page0 = grefs(range(6), ro=(4, 5))
put('ctrl', 'staging', ctrl(0, 0, [
    creq(8, 0), creq(9, 0, LIST0, 6), creq(8, 0), creq(10, 0, LIST0, 3),
    creq(9, 1, LIST0, 2), creq(10, 1, LIST0, 6), creq(8, 1)], page0))
key_and_map = (bytes(range(40)) + b'\0' * (4096 - 40))
mapping = struct.pack('<16I', *([0, 1] * 8))
put('ctrl', 'hash', ctrl(0, 0, [
    creq(7, 1), creq(2, 0x5), creq(1), creq(3, LIST0, 40), creq(4),
    creq(5, 16), creq(6, LIST1, 16, 0), creq(6, LIST1, 8, 12)],
    key_and_map + mapping))
put('ctrl', 'bad', ctrl(0, 0, [
    creq(9, 0, LIST0, 0), creq(9, 0, LIST0, 513), creq(9, 7, LIST0, 1),
    creq(9, 0, 12345, 4), creq(0), creq(99), creq(10, 0, 0xfeed0004, 2),
    creq(5, 100000), creq(6, LIST1, 0xffffffff, 2)],
    grefs([1, 1, 2])))
put('ctrl', 'faults', ctrl(0, 60, [
    creq(9, 0, LIST0, 6), creq(9, 1, LIST0, 6), creq(10, 0, LIST0, 6)],
    page0))
put('ctrl', 'prod_jump', ctrl(1, 0, [creq(8, 0)]))

# --- back_tx: u8 flags (1 linux, 2 staging, 4 req_prod lie), u8 fault
# rate, u32 start index, then tx requests; gref 0xda7aNNNN = data page NNNN.
def btx(flags, rate, start, reqs):
    return bytes([flags, rate]) + struct.pack('<I', start) + b''.join(reqs)

D = 0xda7a0000
simple = [txreq(D + 0, 0, 0, 0, 60), txreq(D + 1, 100, MORE, 1, 3000),
          txreq(D + 2, 0, MORE, 2, 1500), txreq(D + 3, 0, 0, 3, 500),
          txreq(D + 17, 0, EXTRA | MORE, 4, 9000), gso_extra(),
          txreq(D + 4, 0, 0, 5, 4096), txreq(D + 5, 0, 0, 6, 4096)]
put('back_tx', 'copy', btx(0, 0, 0, simple))
put('back_tx', 'linux', btx(1, 0, 0xfffffffe, simple))
put('back_tx', 'staging', btx(2, 0, 7, simple))
put('back_tx', 'faults', btx(1, 30, 100, simple * 3))
put('back_tx', 'bad', btx(0, 0, 0, [txreq(12345, 0, 0, 0, 60),
    txreq(D + 1, 4000, 0, 1, 200), txreq(D + 1, 0, 0, 2, 5)]))
put('back_tx', 'lie', btx(4, 0, 0, [txreq(D, 0, 0, 0, 60)]))
# Persist flags negotiated (flags bit 7; README "Persist flags"): TX bit 4 on
# some slots, on and off for one gref, a ring-sized run of new grefs; the
# start index's bits flag the two RX rounds' padding.
P = 16
put('back_tx', 'persist', btx(0x80 | 1, 0, 0x0000a5a5, [
    txreq(D + 0, 0, P, 0, 60), txreq(D + 0, 64, 0, 1, 60),
    txreq(D + 0, 128, P, 2, 60), txreq(D + 1, 0, P | MORE, 3, 3000),
    txreq(D + 2, 0, P, 4, 1500), txreq(D + 19, 0, P, 5, 200)]))
put('back_tx', 'persist_fill', btx(0x80, 10, 0xffff0000,
    [txreq(D + k, 0, P, k, 60) for k in range(24)]))

# --- hdr: one raw Ethernet frame (tags, IPv4/IPv6 + extension headers) ---
MACS = bytes.fromhex('020000000002020000000001')

def eth(etype, tags=()):
    return MACS + b''.join(struct.pack('>HH', t, 100) for t in tags) \
        + struct.pack('>H', etype)

def ipv4(proto, l4, ihl=5, frag=0):
    opts = b'\x01' * (ihl * 4 - 20)
    return struct.pack('>BBHHHBBH', 0x40 | ihl, 0, ihl * 4 + len(l4), 1, frag,
                       64, proto, 0) + bytes([10, 0, 0, 1, 10, 0, 0, 2]) \
        + opts + l4

def ipv6(nh, rest):
    return struct.pack('>IHBB', 0x60000000, len(rest), nh, 64) \
        + bytes(range(32)) + rest

def ext(nh, n8=0):          # hop-by-hop / routing / destination options
    return bytes([nh, n8]) + b'\0' * (6 + 8 * n8)

def tcp(payload=b'data'):
    return struct.pack('>HHIIBBHHH', 1234, 80, 1, 0, 5 << 4, 0x18, 512, 0, 0) \
        + payload

def udp(payload=b'data'):
    return struct.pack('>HHHH', 1234, 53, 8 + len(payload), 0) + payload

put('hdr', 'v4_tcp', eth(0x0800) + ipv4(6, tcp()))
put('hdr', 'v4_opts_qinq', eth(0x0800, (0x88a8, 0x8100)) + ipv4(17, udp(), ihl=8))
put('hdr', 'v4_frag', eth(0x0800, (0x8100,)) + ipv4(6, tcp(), frag=0x2000))
put('hdr', 'v6_tcp_vlan', eth(0x86dd, (0x8100,)) + ipv6(6, tcp()))
def ah(nh, lenf=1):
    return bytes([nh, lenf]) + b'\0' * ((lenf + 2) * 4 - 2)

put('hdr', 'v6_ext_chain', eth(0x86dd) + ipv6(0, ext(43) + ext(44, 1)
    + bytes([51, 0, 0, 0, 0, 0, 0, 1]) + ah(60) + ext(17) + udp()))
put('hdr', 'v6_frag_later', eth(0x86dd) + ipv6(44, bytes([17, 0, 0x05, 0xc9, 0, 0, 0, 1])
    + udp()))
put('hdr', 'arp', eth(0x0806) + b'\0' * 28)
