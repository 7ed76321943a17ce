// iSCSI names are the protocol's (RFC 7143 section 4.2.7) and the config's alike: the
// ISCSINames module holds them for both, and Config's users get them with Config.
@_exported import ISCSINames
