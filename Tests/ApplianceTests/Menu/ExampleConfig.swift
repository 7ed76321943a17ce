/// The contract example of CONFIG.md, comments and all: a hand-written file the menu must
/// leave alone unless the user saves.
enum ExampleConfig {
    static let text = """
    # ---- the appliance itself (used when running as PID 1) ----
    [appliance]
    hostname      storage1
    address       192.168.10.20/24      # or: dhcp
    gateway       192.168.10.1
    console       ttyS0

    [server]
    node-base     iqn.2026-11.com.example.storage1   # target IQNs default to <node-base>:<target name>
    listen        0.0.0.0:3260  [::]:3260            # allowed server addresses (portals)
    max-sessions  64
    user          targe

    [auth]
    incoming  alice  alice-secret-12        # initiator must prove itself (CHAP)
    outgoing  storage1  target-secret-12    # target proves itself (mutual CHAP)

    [clients]
    allow  192.168.10.0/24
    deny   all

    [device disk1]
    path    /dev/vdb
    [device disk2]
    path    /dev/vdc
    [device scratch]
    path    /var/lib/targe/scratch.img      # a regular file
    offset  1MiB
    size    10GiB
    engine  buffered
    [device ram0]
    ram     256MiB

    [combination mirror]
    raid     1
    members  disk1 disk2
    [combination big]
    raid     0
    members  mirror scratch

    [target db]
    lun      0 mirror
    lun      1 ram0
    access   rw
    allow    192.168.10.0/24
    allow    iqn.1993-08.org.debian:01:web1
    incoming bob bob-secret-123
    alias    database
    [target archive]
    iqn      iqn.2026-11.com.example:archive
    lun      0 big
    access   ro

    """
}
