#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Fuzz/Corpus/<Target>/.

Run once (python3 Fuzz/make-corpus.py) and commit the files; the output is deterministic,
so running it again changes nothing unless this script changed. Seeds are small, typical
inputs: real iSCSI PDUs as libiscsi and open-iscsi send them, the usual CDBs, the contract
config example and small configs. libFuzzer grows its own working corpus from these.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")


# ---- CRC32C (Castagnoli), as iSCSI digests use it: sent little-endian ----

def _table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


CRC_TABLE = _table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---- PDUs (RFC 7143 section 11) ----

def bhs(opcode, flags=0, byte2=0, byte3=0, ahs_words=0, data_len=0, lun=0, itt=0,
        w20=0, w24=0, w28=0, w32=0, w36=0, w40=0, w44=0, immediate=False):
    op = opcode | (0x40 if immediate else 0)
    return struct.pack(">BBBBI Q I IIIIIII", op, flags, byte2, byte3,
                       (ahs_words << 24) | data_len, lun, itt, w20, w24, w28, w32, w36, w40, w44)


def pdu(header_fields, data=b"", ahs=b"", header_digest=False, data_digest=False):
    assert len(ahs) % 4 == 0
    h = bhs(ahs_words=len(ahs) // 4, data_len=len(data), **header_fields)
    out = h + ahs
    if header_digest:
        out += struct.pack("<I", crc32c(out))
    if data:
        padded = data + b"\0" * (-len(data) % 4)
        out += padded
        if data_digest:
            out += struct.pack("<I", crc32c(padded))
    return out


def text(pairs):
    return b"".join(k.encode() + b"=" + v.encode() + b"\0" for k, v in pairs)


INITIATOR = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"
TARGET = "iqn.2024-01.org.targe:disk1"
ISID = 0x80123456789A

SECURITY_KEYS = [
    ("InitiatorName", INITIATOR),
    ("InitiatorAlias", "libiscsi"),
    ("TargetName", TARGET),
    ("SessionType", "Normal"),
    ("AuthMethod", "None"),
]
# What libiscsi offers in its operational stage.
OPERATIONAL_KEYS = [
    ("HeaderDigest", "None,CRC32C"),
    ("DataDigest", "None,CRC32C"),
    ("DefaultTime2Wait", "2"),
    ("DefaultTime2Retain", "0"),
    ("IFMarker", "No"),
    ("OFMarker", "No"),
    ("ErrorRecoveryLevel", "0"),
    ("InitialR2T", "No"),
    ("ImmediateData", "Yes"),
    ("MaxBurstLength", "262144"),
    ("FirstBurstLength", "65536"),
    ("MaxOutstandingR2T", "1"),
    ("MaxConnections", "1"),
    ("DataPDUInOrder", "Yes"),
    ("DataSequenceInOrder", "Yes"),
    ("MaxRecvDataSegmentLength", "262144"),
]
# open-iscsi's first PDU of a discovery session.
DISCOVERY_KEYS = [
    ("InitiatorName", "iqn.1993-08.org.debian:01:abcdef"),
    ("InitiatorAlias", "host"),
    ("SessionType", "Discovery"),
    ("HeaderDigest", "None"),
    ("DataDigest", "None"),
    ("DefaultTime2Wait", "2"),
    ("DefaultTime2Retain", "0"),
    ("IFMarker", "No"),
    ("OFMarker", "No"),
    ("ErrorRecoveryLevel", "0"),
    ("MaxRecvDataSegmentLength", "32768"),
]


def login_flags(transit, csg, nsg, cont=False):
    return (0x80 if transit else 0) | (0x40 if cont else 0) | (csg << 2) | (nsg if transit else 0)


def login(csg, nsg, keys, transit=True, itt=1, tsih=0, cmdsn=1, cont=False, raw=None):
    data = raw if raw is not None else text(keys)
    return dict(opcode=0x03, immediate=True, flags=login_flags(transit, csg, nsg, cont),
                lun=(ISID << 16) | tsih, itt=itt, w20=1 << 16, w24=cmdsn), data


def scsi_command(cdb, edtl, read=False, write=False, itt=0x10, cmdsn=2, lun=0):
    cdb = cdb + b"\0" * (16 - len(cdb))
    w32, w36, w40, w44 = struct.unpack(">IIII", cdb)
    flags = 0x80 | (0x40 if read else 0) | (0x20 if write else 0) | 0x01  # F, R/W, SIMPLE
    return dict(opcode=0x01, flags=flags, lun=lun << 48, itt=itt, w20=edtl, w24=cmdsn, w28=1,
                w32=w32, w36=w36, w40=w40, w44=w44)


def pdu_corpus():
    seeds = {}
    sec_h, sec_d = login(0, 1, SECURITY_KEYS)
    op_h, op_d = login(1, 3, OPERATIONAL_KEYS, itt=2)
    both_h, both_d = login(1, 3, SECURITY_KEYS[:4] + OPERATIONAL_KEYS)
    disc_h, disc_d = login(1, 3, DISCOVERY_KEYS)
    read10 = scsi_command(bytes([0x28, 0, 0, 0, 0, 0x10, 0, 0, 8, 0]), 4096, read=True)
    write10 = scsi_command(bytes([0x2A, 0, 0, 0, 0, 0x20, 0, 0, 1, 0]), 512, write=True, itt=0x11)
    data_out = dict(opcode=0x05, flags=0x80, itt=0x11, w20=0x1234, w28=1, w36=0, w40=0)
    nop_out = dict(opcode=0x00, immediate=True, flags=0x80, itt=0x20, w20=0xFFFFFFFF, w24=3, w28=1)
    nop_reply = dict(opcode=0x00, immediate=True, flags=0x80, itt=0xFFFFFFFF, w20=0x77, w24=3, w28=2)
    sendtargets = dict(opcode=0x04, immediate=True, flags=0x80, itt=3, w20=0xFFFFFFFF, w24=1, w28=1)
    logout = dict(opcode=0x06, immediate=True, flags=0x80, itt=4, w20=1 << 16, w24=4, w28=2)
    abort = dict(opcode=0x02, immediate=True, flags=0x80 | 1, itt=5, w20=0x10, w24=5, w28=2, w32=2)
    inquiry = scsi_command(bytes([0x12, 0, 0, 0, 0x24, 0]), 36, read=True, itt=0x12)
    block = bytes((i * 7) & 0xFF for i in range(512))

    for suffix, hd, dd in [("", False, False), ("-hd", True, False), ("-hd-dd", True, True)]:
        seeds["login-security" + suffix] = pdu(sec_h, sec_d, header_digest=hd, data_digest=dd)
        seeds["login-operational" + suffix] = pdu(op_h, op_d, header_digest=hd, data_digest=dd)
        seeds["scsi-read10" + suffix] = pdu(read10, header_digest=hd, data_digest=dd)
        seeds["data-out" + suffix] = pdu(data_out, block, header_digest=hd, data_digest=dd)
        seeds["nop-out" + suffix] = pdu(nop_out, b"ping", header_digest=hd, data_digest=dd)
        # A whole connection: two-stage login, INQUIRY, READ(10), WRITE(10) + Data-Out, NOP, logout.
        seeds["session" + suffix] = b"".join([
            pdu(sec_h, sec_d, header_digest=hd, data_digest=dd),
            pdu(op_h, op_d, header_digest=hd, data_digest=dd),
            pdu(inquiry, header_digest=hd, data_digest=dd),
            pdu(read10, header_digest=hd, data_digest=dd),
            pdu(write10, header_digest=hd, data_digest=dd),
            pdu(data_out, block, header_digest=hd, data_digest=dd),
            pdu(nop_out, b"", header_digest=hd, data_digest=dd),
            pdu(logout, header_digest=hd, data_digest=dd),
        ])
    seeds["login-one-pdu"] = pdu(both_h, both_d)
    seeds["login-discovery"] = pdu(disc_h, disc_d) + pdu(sendtargets, text([("SendTargets", "All")]))
    seeds["login-continued"] = (pdu(*login(1, 1, [], transit=False, cont=True, raw=both_d[:100]))
                                + pdu(*login(1, 3, [], raw=both_d[100:])))
    seeds["write10-immediate"] = pdu(write10, block)
    seeds["nop-out-reply"] = pdu(nop_reply)
    seeds["task-abort"] = pdu(abort)
    seeds["text-sendtargets"] = pdu(sendtargets, text([("SendTargets", "All")]))
    # SCSI command with an AHS: extended CDB (type 1), a 32-byte VARIABLE LENGTH CDB's tail.
    ahs = struct.pack(">HB", 17, 0x01) + b"\0" + bytes(range(16)) + b"\0" * 0
    ahs += b"\0" * (-len(ahs) % 4)
    seeds["scsi-ahs"] = pdu(scsi_command(bytes([0x7F, 0, 0, 0, 0, 0, 0, 0x18]), 0, itt=0x13), ahs=ahs)
    return seeds


# ---- login text exchanges for FuzzLoginText: segments split on 0xFF ----

def segment(flags, control, keys=None, raw=None):
    return bytes([flags, control]) + (raw if raw is not None else text(keys))


def login_text_corpus():
    """Byte 0: offer (bits 0-1) and authority (bits 2-4) variants; then 0xFF-separated
    segments of [BHS flags, control byte, text] (see Sources/FuzzLoginText)."""
    sec = login_flags(True, 0, 1)
    sec_stay = login_flags(False, 0, 0)
    op = login_flags(True, 1, 3)
    CHAP = 0x10

    def session(options, *segments):
        return bytes([options]) + b"\xff".join(segments)

    seeds = {}
    seeds["two-stage"] = session(0, segment(sec, 0, SECURITY_KEYS), segment(op, 0, OPERATIONAL_KEYS))
    seeds["one-stage"] = session(0, segment(op, 0, SECURITY_KEYS[:4] + OPERATIONAL_KEYS))
    seeds["discovery"] = session(0, segment(op, 0, DISCOVERY_KEYS))
    seeds["security-to-ffp"] = session(0, segment(login_flags(True, 0, 3), 0, SECURITY_KEYS))
    for variant in range(1, 4):
        seeds["offer%d" % variant] = session(variant, segment(sec, 0, SECURITY_KEYS), segment(op, 0, OPERATIONAL_KEYS))
    for variant in range(1, 4):
        seeds["authority%d" % variant] = session(variant << 2, segment(op, 0, SECURITY_KEYS[:4] + OPERATIONAL_KEYS))
    # CHAP as libiscsi does it: AuthMethod=CHAP,None with T=1, CHAP_A, then CHAP_N/CHAP_R
    # (filled in by the harness from the target's challenge), then the operational stage.
    chap_keys = SECURITY_KEYS[:4] + [("AuthMethod", "CHAP,None")]
    for variant, name, control in [(4, "chap", CHAP), (5, "chap-mutual", CHAP | 0x40), (4, "chap-wrong", CHAP | 0x20),
                                   (6, "chap-normal-only", CHAP)]:
        seeds[name] = session(variant << 2,
                              segment(sec, 0, chap_keys),
                              segment(sec_stay, 0, [("CHAP_A", "5")]),
                              segment(sec, control, raw=b""),
                              segment(op, 0, OPERATIONAL_KEYS))
    seeds["chap-discovery"] = session(7 << 2,
                                      segment(sec, 0, [("InitiatorName", INITIATOR), ("SessionType", "Discovery"),
                                                       ("AuthMethod", "CHAP")]),
                                      segment(sec_stay, 0, [("CHAP_A", "7,5")]),
                                      segment(login_flags(True, 0, 3), CHAP, raw=b""))
    body = text(SECURITY_KEYS[:4] + OPERATIONAL_KEYS)
    seeds["continued"] = session(0, segment(login_flags(False, 1, 0, cont=True), 0, raw=body[:90]),
                                 segment(op, 0, raw=body[90:]))
    seeds["stay-in-stage"] = session(0, segment(login_flags(False, 1, 0), 0, SECURITY_KEYS[:4]),
                                     segment(login_flags(False, 1, 0), 0, OPERATIONAL_KEYS[:8]),
                                     segment(op, 0, OPERATIONAL_KEYS[8:]))
    seeds["add-connection"] = session(0, segment(op, 0x04, SECURITY_KEYS[:4] + OPERATIONAL_KEYS))
    seeds["edge-values"] = session(1, segment(op, 0, SECURITY_KEYS[:4] + [
        ("MaxBurstLength", "512"), ("FirstBurstLength", "16777215"), ("MaxRecvDataSegmentLength", "0x200"),
        ("DefaultTime2Wait", "3600"), ("DefaultTime2Retain", "3600"), ("ErrorRecoveryLevel", "2"),
        ("MaxConnections", "65535"), ("MaxOutstandingR2T", "65535"), ("iSCSIProtocolLevel", "2"),
        ("HeaderDigest", "CRC32C"), ("DataDigest", "crc32c,None"), ("TaskReporting", "ResponseFence"),
        ("IFMarkInt", "2048~8192"), ("X#com.example.key", "1"), ("X-com.example.other", "yes"),
        ("UnknownKey", "value"),
    ]))
    # Out-of-range values answered Reject, without transit (so that the login goes on).
    seeds["bad-values"] = session(0, segment(login_flags(False, 1, 0), 0, SECURITY_KEYS[:4] + [
        ("MaxBurstLength", "0"), ("FirstBurstLength", "huge"), ("InitialR2T", "Maybe"),
        ("HeaderDigest", "MD5"), ("ErrorRecoveryLevel", "3"),
    ]), segment(op, 0, OPERATIONAL_KEYS[:4]))
    return seeds


# ---- CDBs for FuzzCDB: 16-byte CDB, 16 setup bytes, then records of a control byte and a
# 16-byte CDB; a parameter list (MODE SELECT, PERSISTENT RESERVE OUT) follows its CDB ----

def cdb(*b):
    b = bytes(b)
    return b + b"\0" * (16 - len(b))


def be(value, n):
    return value.to_bytes(n, "big")


def setup(flags=0x04, count_form=4, raw=0, lun_bits=0x07, tag=1, small_limit=0, name_len=30, exponent=0):
    return bytes([flags, count_form]) + be(raw, 8) + bytes([lun_bits, tag]) + be(small_limit, 2) \
        + bytes([name_len, exponent])


def cdb_corpus():
    c = {}
    c["test-unit-ready"] = cdb(0x00, 0, 0, 0, 0, 0)
    c["inquiry-36"] = cdb(0x12, 0, 0, 0, 36, 0)
    c["inquiry-96"] = cdb(0x12, 0, 0, 0, 96, 0)
    c["inquiry-short"] = cdb(0x12, 0, 0, 0, 5, 0)
    for page in (0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2):
        c["inquiry-vpd-%02x" % page] = cdb(0x12, 1, page, 0x01, 0x00, 0)
    c["request-sense"] = cdb(0x03, 0, 0, 0, 252, 0)
    c["request-sense-desc"] = cdb(0x03, 1, 0, 0, 252, 0)
    c["read-capacity10"] = cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    c["read-capacity16"] = cdb(0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0)
    c["read6"] = cdb(0x08, 0, 0, 0x10, 8, 0)
    c["write6"] = cdb(0x0A, 0, 0, 0x10, 0, 0)
    c["read10"] = cdb(0x28, 0, *be(0x10, 4), 0, *be(8, 2), 0)
    c["read10-fua"] = cdb(0x28, 0x08, *be(2047, 4), 0, *be(1, 2), 0)
    c["write10"] = cdb(0x2A, 0, *be(0x20, 4), 0, *be(16, 2), 0)
    c["read12"] = cdb(0xA8, 0, *be(0, 4), *be(2048, 4), 0, 0)
    c["write12"] = cdb(0xAA, 0x08, *be(100, 4), *be(1, 4), 0, 0)
    c["read16"] = cdb(0x88, 0, *be(0, 8), *be(128, 4), 0, 0)
    c["write16"] = cdb(0x8A, 0, *be(2040, 8), *be(8, 4), 0, 0)
    c["write-verify10"] = cdb(0x2E, 0x02, *be(0, 4), 0, *be(8, 2), 0)
    c["write-verify16"] = cdb(0x8E, 0, *be(8, 8), *be(8, 4), 0, 0)
    c["verify10"] = cdb(0x2F, 0, *be(0, 4), 0, *be(2048, 2), 0)
    c["verify10-bytchk"] = cdb(0x2F, 0x02, *be(0, 4), 0, *be(1, 2), 0)
    c["verify12"] = cdb(0xAF, 0, *be(0, 4), *be(16, 4), 0, 0)
    c["verify16"] = cdb(0x8F, 0x02, *be(0, 8), *be(16, 4), 0, 0)
    c["sync-cache10"] = cdb(0x35, 0, *be(0, 4), 0, *be(0, 2), 0)
    c["sync-cache16"] = cdb(0x91, 0, *be(100, 8), *be(100, 4), 0, 0)
    c["mode-sense6-all"] = cdb(0x1A, 0, 0x3F, 0, 255, 0)
    c["mode-sense6-caching"] = cdb(0x1A, 0x08, 0x08, 0, 255, 0)
    c["mode-sense6-changeable"] = cdb(0x1A, 0, 0x40 | 0x3F, 0xFF, 255, 0)
    c["mode-sense10-control"] = cdb(0x5A, 0, 0x0A, 0, 0, 0, 0, *be(1024, 2), 0)
    c["mode-sense10-llbaa"] = cdb(0x5A, 0x10, 0x3F, 0, 0, 0, 0, *be(1024, 2), 0)
    c["mode-sense10-default"] = cdb(0x5A, 0, 0x80 | 0x1C, 0, 0, 0, 0, *be(12, 2), 0)
    c["report-luns"] = cdb(0xA0, 0, 0, 0, 0, 0, *be(512, 4), 0, 0)
    c["report-luns-16"] = cdb(0xA0, 0, 2, 0, 0, 0, *be(16, 4), 0, 0)
    c["rsoc-all"] = cdb(0xA3, 0x0C, 0, 0, 0, 0, *be(65535, 4), 0, 0)
    c["rsoc-all-rctd"] = cdb(0xA3, 0x0C, 0x80, 0, 0, 0, *be(4096, 4), 0, 0)
    c["rsoc-one"] = cdb(0xA3, 0x0C, 0x01, 0x28, 0, 0, *be(512, 4), 0, 0)
    c["rsoc-one-sa"] = cdb(0xA3, 0x0C, 0x82, 0x9E, 0, 0x10, *be(512, 4), 0, 0)
    c["start-unit"] = cdb(0x1B, 0, 0, 0, 0x01, 0)
    c["stop-unit"] = cdb(0x1B, 0, 0, 0, 0x00, 0)
    c["prevent-allow"] = cdb(0x1E, 0, 0, 0, 0x01, 0)
    c["naca"] = cdb(0x28, 0, *be(0, 4), 0, *be(1, 2), 0x04)

    # MODE SELECT and PERSISTENT RESERVE OUT: the parameter list follows the CDB.
    caching = bytes([0x08, 0x12, 0x04]) + bytes(17)                # WCE=1
    control = bytes([0x0A, 0x0A, 0x06, 0x10, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0])  # D_SENSE, GLTSD, QAM=1
    ms6 = bytes(4) + caching
    ms10 = bytes(8) + control
    c["mode-select6"] = cdb(0x15, 0x10, 0, 0, len(ms6), 0)
    c["mode-select10"] = cdb(0x55, 0x10, 0, 0, 0, 0, 0, *be(len(ms10), 2), 0)
    key = be(0x1122334455667788, 8)

    def pr_out(sa, scope_type=0):
        return cdb(0x5F, sa, scope_type, 0, 0, *be(24, 4), 0)

    def pr_params(res_key, sa_key, flags=0):
        return res_key + sa_key + bytes(4) + bytes([flags, 0, 0, 0])

    c["pr-out-register"] = pr_out(0x00)
    c["pr-out-reserve"] = pr_out(0x01, 0x01)
    c["pr-in-read-keys"] = cdb(0x5E, 0x00, 0, 0, 0, 0, 0, *be(1024, 2), 0)
    c["pr-in-read-reservation"] = cdb(0x5E, 0x01, 0, 0, 0, 0, 0, *be(1024, 2), 0)
    c["pr-in-capabilities"] = cdb(0x5E, 0x02, 0, 0, 0, 0, 0, *be(8, 2), 0)
    c["pr-in-full-status"] = cdb(0x5E, 0x03, 0, 0, 0, 0, 0, *be(4096, 2), 0)
    c["reserve6"] = cdb(0x16, 0, 0, 0, 0, 0)
    c["release6"] = cdb(0x17, 0, 0, 0, 0, 0)
    c["report-target-port-groups"] = cdb(0xA3, 0x0A, 0, 0, 0, 0, *be(1024, 4), 0, 0)
    c["read-defect-data10"] = cdb(0x37, 0, 0x18, 0, 0, 0, 0, *be(512, 2), 0)

    def then(body, nexus=0):
        """A follow-on record: control byte (bit 0 nexus B, bits 1-2 an event), 16-byte CDB."""
        return bytes([nexus]) + body

    seeds = {name: body + setup() for name, body in c.items()}
    seeds["mode-select6"] += ms6
    seeds["mode-select10"] += ms10
    seeds["pr-out-register"] += pr_params(bytes(8), key)
    seeds["pr-out-reserve"] = (c["pr-out-register"] + setup() + pr_params(bytes(8), key)
                               + then(c["pr-out-reserve"]) + pr_params(key, bytes(8))
                               + then(c["write10"], nexus=1) + then(c["read10"], nexus=1)
                               + then(c["pr-in-read-reservation"]) + then(c["pr-in-full-status"], nexus=1))
    seeds["reserve-release"] = (c["reserve6"] + setup() + then(c["write10"], nexus=1) + then(c["release6"])
                                + then(c["write10"], nexus=1))
    seeds["unit-attentions"] = (c["test-unit-ready"] + setup(exponent=0x10) + then(c["request-sense"])
                                + then(c["test-unit-ready"], nexus=1 | (2 << 1)) + then(c["read10"])
                                + then(c["inquiry-36"], nexus=3 << 1) + then(c["read-capacity16"]))
    seeds["swp-write"] = (c["mode-select10"] + setup() + ms10 + then(c["write16"]) + then(c["mode-sense10-control"]))
    # The same commands against other LUs.
    seeds["read16-4k-readonly"] = c["write16"] + setup(flags=0x01 | 0x02, count_form=1, raw=4096)
    seeds["read-capacity16-huge"] = c["read-capacity16"] + setup(count_form=8)
    seeds["read-capacity10-4g"] = c["read-capacity10"] + setup(count_form=6)
    seeds["inquiry-b0-limit"] = c["inquiry-vpd-b0"] + setup(flags=0x40, small_limit=64, exponent=3)
    seeds["report-luns-many"] = c["report-luns"] + setup(lun_bits=0xFF)
    seeds["inquiry-83-long-name"] = c["inquiry-vpd-83"] + setup(name_len=223, tag=0xFF)
    # Sequences sharing the LU state: stop, read, request sense, start, read.
    seeds["stop-read-start"] = (c["stop-unit"] + setup(flags=0x14) + then(c["read10"]) + then(c["request-sense"])
                                + then(c["start-unit"]) + then(c["read10"]) + then(c["mode-sense6-all"]))
    seeds["writes-readonly"] = (c["write10"] + setup(flags=0x02) + then(c["write6"]) + then(c["write-verify10"])
                                + then(c["mode-sense10-llbaa"]))
    return seeds


# ---- configs for FuzzConfig ----

CONTRACT_EXAMPLE = """\
# ---- the appliance itself (used when running as PID 1) ----
[appliance]
hostname      storage1
address       192.168.10.20/24      # or: dhcp
gateway       192.168.10.1
console       ttyS0

# ---- server options ----
[server]
node-base     iqn.2026-11.com.example.storage1   # target IQNs default to <node-base>:<target name>
listen        0.0.0.0:3260  [::]:3260            # allowed server addresses (portals)
max-sessions  64
user          targe                               # unprivileged user the target drops to

# ---- connection settings (target-side values offered in negotiation) ----
[connection]
MaxRecvDataSegmentLength  262144
MaxBurstLength            1048576
FirstBurstLength          65536
InitialR2T                No
ImmediateData             Yes
MaxOutstandingR2T         1
MaxConnections            4
HeaderDigest              CRC32C,None
DataDigest                CRC32C,None

# ---- timeout settings ----
[timeouts]
nop-interval   5      # seconds between NOP-In pings on an idle connection; 0 = never
nop-timeout    15     # seconds to wait for the reply before dropping the connection
login-timeout  15

# ---- authentication for discovery and for targets without their own ----
[auth]
incoming  alice  alice-secret-12        # initiator must prove itself (CHAP)
outgoing  storage1  target-secret-12    # target proves itself (mutual CHAP)

# ---- allowed client addresses, in order; first match wins; default allow ----
[clients]
allow  192.168.10.0/24
deny   all

# ---- devices to share ----
[device disk1]
path    /dev/vdb
[device disk2]
path    /dev/vdc
[device scratch]
path    /var/lib/targe/scratch.img      # a regular file
offset  1MiB
size    10GiB
engine  buffered                        # aio (default; O_DIRECT) or buffered
[device ram0]
ram     256MiB

# ---- device combinations ----
[combination mirror]
raid     1
members  disk1 disk2
[combination big]
raid     0                              # concatenation; add `chunk 64KiB` to stripe
members  mirror scratch

# ---- sharing targets ----
[target db]
lun      0 mirror
lun      1 ram0
access   rw                             # or ro
allow    192.168.10.0/24                # networks and/or initiator names; default: all
allow    iqn.1993-08.org.debian:01:web1
incoming bob bob-secret-123             # this target's own CHAP users (replace [auth]'s)
alias    database
[target archive]
iqn      iqn.2026-11.com.example:archive
lun      0 big
access   ro
"""

MINIMAL = "[device d]\nram 1MiB\n[target t]\nlun 0 d\n"


def config_corpus():
    return {
        "contract-example": CONTRACT_EXAMPLE,
        "minimal": MINIMAL,
        "minimal-crlf-bom": "\ufeff" + MINIMAL.replace("\n", "\r\n"),
        "file-device": "[device f]\npath /srv/f.img\noffset 4KiB\nsize 1536\nengine aio\ncreate yes\n"
                       "block-size 512\n[target t]\nlun 0 f\naccess ro\n",
        "4k-device": "[device g]\npath /dev/sdb\nblock-size 4096\nsize entire\n[target t]\nlun 7 g\n",
        "stripe": "[device a]\nram 64MiB\n[device b]\nram 64MiB\n[combination s]\nraid 0\nmembers a b\n"
                  "chunk 64KiB\n[target t]\nlun 0 s\n",
        "server-connection": "[server]\nnode-base iqn.2026-11.net.example:box\nlisten [::1]:3260 127.0.0.1:0\n"
                             "max-sessions 3\n[connection]\nMaxRecvDataSegmentLength 8192\nHeaderDigest None,CRC32C\n"
                             "DataDigest CRC32C\nInitialR2T yes\nErrorRecoveryLevel 1\nDataPDUInOrder off\n"
                             "[timeouts]\nnop-interval 0\nnop-timeout 3\nlogin-timeout 60\n" + MINIMAL,
        "auth-clients": "[auth]\nincoming a short\nincoming b b-secret-123\noutgoing box box-secret-99\n"
                        "allow-short-secrets yes\n[clients]\ndeny 10.0.0.66\nallow fd00::/8\ndeny all\n"
                        "[device d]\nram 1MiB\n[target One]\niqn eui.0123456789abcdef\nalias first\nlun 0 d\n"
                        "allow iqn.2000-01.com.example:x\nallow 10.0.0.0/8\nincoming c c-secret-1234\n"
                        "outgoing o o-secret-1234\n",
        "appliance-dhcp": "[appliance]\nhostname box\naddress dhcp\nconsole hvc0\n" + MINIMAL,
        "appliance-v6": "[appliance]\nhostname Box-2\naddress fd00::2/64\ngateway fd00::1\n" + MINIMAL,
        "errors": "key outside\n[device]\n[device x y]\n[target t]\nlun zero d\nlun 0\naccess maybe\n"
                  "[server]\nmax-sessions -1\n[server]\n[bogus]\n[device d\nram 1TB\noffset 1\n",
        "comments-only": "# nothing here\n\n   # indented comment\n",
    }


def connection_corpus():
    """FuzzConnection: a login byte, then records (kind byte, fields, a read-size byte); see
    Fuzz/Sources/FuzzConnection/FuzzConnection.swift for the layout of each kind."""
    def command(pick, lba, blocks, edtl, immediate_units, read=False, write=False, cut=0):
        return bytes([0, (1 if read else 0) | (2 if write else 0), pick]) + be(lba, 2) + bytes([blocks]) \
            + be(edtl // 2, 2) + bytes([immediate_units, cut])
    def data_out(task, offset, length, final=True, cut=0):
        return bytes([1, 1 if final else 0, task]) + be(offset, 2) + be(length, 2) + bytes([cut])
    write8 = command(1, 10, 8, 4096, 128, write=True)
    read8 = command(0, 10, 8, 4096, 0, read=True)
    logout = bytes([5, 0, 0])
    return {
        "immediate-write-read-logout": bytes([0x04]) + write8 + read8 + logout,
        "r2t-write": bytes([0x08]) + command(1, 20, 8, 4096, 0, write=True) + data_out(0, 0, 4096, cut=100) + read8,
        "digests-small-bursts": bytes([0x13]) + command(1, 30, 4, 2048, 0, write=True)
                                + data_out(0, 0, 512, final=False, cut=7) + data_out(0, 512, 512) + read8,
        "abort-waiting-write": bytes([0x28]) + command(1, 40, 8, 4096, 0, write=True) + bytes([3, 0, 0, 0]) + read8,
        "nop-and-idle": bytes([0x00]) + bytes([2, 10, 0, 7, 20, 0, 2, 0, 3]) + read8,
        "compare-and-write": bytes([0x04]) + command(3, 50, 1, 1024, 32, write=True) + read8,
        "window-skew": bytes([0x04]) + bytes([8, 3, 0]) + read8 + bytes([3, 6, 0, 0]) + read8,
    }


def write(target, seeds, binary=True):
    directory = os.path.join(CORPUS, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, body in sorted(seeds.items()):
        data = body if binary else body.encode()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print("%-14s %3d seeds, %6d bytes" % (target, len(seeds), sum(len(b) for b in seeds.values())))


if __name__ == "__main__":
    write("FuzzPDU", pdu_corpus())
    write("FuzzLoginText", login_text_corpus())
    write("FuzzCDB", cdb_corpus())
    write("FuzzConfig", config_corpus(), binary=False)
    write("FuzzConnection", connection_corpus())
