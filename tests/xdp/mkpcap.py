#!/usr/bin/env python3
"""Write a varied pcap for the xdp replay test, or compare two captures.

mkpcap.py OUT            frames of many shapes from ether src 02:5e:00:00:00:01;
                         prints how many
mkpcap.py --count F      frames in F (0 when F is not there yet)
mkpcap.py --compare A B  exit 0 when B holds exactly A's frames (as a
                         multiset: with two queues frames may reorder)
"""
import struct
import sys

SRC = bytes.fromhex("025e00000001")
DST = bytes.fromhex("020000009899")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(proto, payload, opts=b"", ident=1):
    ihl = 5 + len(opts) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload), ident,
                    0, 64, proto, 0, bytes([10, 98, 0, 2]), bytes([10, 98, 0, 77])) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(n, good=True):
    data = bytes((i * 7) & 0xFF for i in range(n))
    u = struct.pack("!HHHH", 4000, 5000, 8 + n, 0 if not good else 0x1234) + data
    return u


def tcp(n, flags=0x18, opts=b""):
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", 4001, 5001, 1000, 2000, off << 4, flags, 65535,
                       0xBEEF, 0) + opts + bytes((i * 13) & 0xFF for i in range(n))


def eth(payload, etype=0x0800, dst=DST, vlan=None):
    if vlan is not None:
        return dst + SRC + struct.pack("!HH", 0x8100, vlan) + struct.pack("!H", etype) + payload
    return dst + SRC + struct.pack("!H", etype) + payload


def ipv6(nh, payload, ext=b""):
    return struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(payload), nh if not ext else 0,
                       64, b"\xfd" + b"\0" * 14 + b"\2", b"\xfd" + b"\0" * 14 + b"\x77") + ext + payload


def frames():
    f = []
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, SRC, bytes([10, 98, 0, 2]),
                      b"\0" * 6, bytes([10, 98, 0, 77]))
    f.append(eth(arp + b"\0" * 18, 0x0806, dst=b"\xff" * 6))
    for n in (18, 19, 100, 333, 1000, 1472):
        f.append(eth(ipv4(17, udp(n))))
    f.append(eth(ipv4(17, udp(200, good=False))))
    f.append(eth(ipv4(6, tcp(0, 0x02, b"\x02\x04\x05\xb4\x01\x01\x04\x02"))))
    for n in (1, 500, 1460):
        f.append(eth(ipv4(6, tcp(n))))
    f.append(eth(ipv4(1, b"\x08\x00\xf7\xff" + b"\0\1\0\1" + b"ping" * 10)))
    f.append(eth(ipv4(17, udp(64), opts=b"\x94\x04\0\0")))  # router alert option
    f.append(eth(ipv4(17, udp(700)), vlan=42))
    f.append(eth(ipv6(17, udp(300)), 0x86DD))
    f.append(eth(ipv6(6, tcp(1000)), 0x86DD))
    f.append(eth(ipv6(17, udp(40), ext=bytes([17, 0, 1, 4, 0, 0, 0, 0])), 0x86DD))
    f.append(eth(bytes(range(256)) * 2, 0x88B5))  # local experimental ethertype
    for i, n in enumerate((61, 77, 1513)):
        f.append(eth(bytes((i + j) & 0xFF for j in range(n - 14)), 0x88B6))
    return f


def write(path, fs):
    with open(path, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(fs):
            o.write(struct.pack("<IIII", 1, i, len(fr), len(fr)) + fr)


def read(path):
    with open(path, "rb") as i:
        d = i.read()
    magic = struct.unpack("<I", d[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack(end + "IIII", d[off:off + 16])
        out.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        a, b = read(sys.argv[2]), read(sys.argv[3])
        if sorted(a) != sorted(b):
            print("want %d frames, got %d; %d missing, %d unexpected" % (
                len(a), len(b), len([x for x in a if x not in b]),
                len([x for x in b if x not in a])), file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    if sys.argv[1] == "--count":
        try:
            print(len(read(sys.argv[2])))
        except OSError:
            print(0)
        sys.exit(0)
    fs = frames()
    write(sys.argv[1], fs)
    print(len(fs))
