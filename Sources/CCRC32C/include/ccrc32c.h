#ifndef CCRC32C_H
#define CCRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends a running CRC32C (Castagnoli). `crc` is the raw register value: start with
/// 0xFFFFFFFF and xor the final result with 0xFFFFFFFF (iSCSI digests, RFC 3385).
uint32_t targe_crc32c_update(uint32_t crc, const void *data, size_t length);

#endif
