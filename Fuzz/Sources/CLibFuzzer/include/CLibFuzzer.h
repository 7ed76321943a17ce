#ifndef TARGE_CLIBFUZZER_H
#define TARGE_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt FuzzerDriver.cpp): parses libFuzzer's flags from argv and
/// runs `callback` on each input. The fuzz executables call it from their own main, because
/// SwiftPM links every executable with its own `main` (an alias of `<Target>_main`), which
/// leaves no room for libFuzzer's.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
