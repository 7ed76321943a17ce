import FuzzSupport

// libFuzzer's driver calls the @_cdecl entry point's Swift body through a C-convention
// closure (referring to the @_cdecl function itself here would emit a second C thunk).
runLibFuzzer { data, size in fuzzConnection(data, size) }
