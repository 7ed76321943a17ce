// CRC32C for iSCSI header/data digests. Uses the SSE4.2 crc32 instruction when the CPU has
// it (checked once at run time), else a slicing-by-8 table. The digest runs over every byte
// of the data path when DataDigest is on, so the fast path matters.
#include "ccrc32c.h"
#include <string.h>

static uint32_t table[8][256];
static int table_ready;
static int have_sse42 = -1;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = table[0][i];
        for (int t = 1; t < 8; t++) { c = table[0][c & 0xff] ^ (c >> 8); table[t][i] = c; }
    }
    table_ready = 1;
}

static uint32_t crc_soft(uint32_t crc, const unsigned char *p, size_t n) {
    if (!table_ready) build_table();
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4); memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) { uint64_t v; memcpy(&v, p, 8); c = __builtin_ia32_crc32di(c, v); p += 8; n -= 8; }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t targe_crc32c_update(uint32_t crc, const void *data, size_t length) {
#if defined(__x86_64__)
    if (have_sse42 < 0) { __builtin_cpu_init(); have_sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0; }
    if (have_sse42) return crc_hw(crc, (const unsigned char *)data, length);
#endif
    return crc_soft(crc, (const unsigned char *)data, length);
}
