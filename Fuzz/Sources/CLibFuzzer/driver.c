// Declarations only (see include/CLibFuzzer.h); the definition is in libclang_rt.fuzzer,
// which `-sanitize=fuzzer` links.
#include "CLibFuzzer.h"
