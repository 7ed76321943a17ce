import CSystemShims
import Glibc

/// How many bytes a file descriptor's backing store holds: a block device's size, or a
/// regular file's. Measured when a device opens and again when a reload looks for growth.
enum BackingStoreSize {
    enum Failure: Error {
        case notRegularOrBlock
        case call(Int32)
    }

    static func of(_ fd: Int32) -> Result<(bytes: UInt64, isBlockDevice: Bool), Failure> {
        switch targe_is_block_device(fd) {
        case 1:
            var bytes: UInt64 = 0
            guard targe_block_device_size(fd, &bytes) == 0 else { return .failure(.call(errno)) }
            return .success((bytes, true))
        case 0:
            var st = stat()
            guard fstat(fd, &st) == 0 else { return .failure(.call(errno)) }
            guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure(.notRegularOrBlock) }
            return .success((UInt64(st.st_size), false))
        default:
            return .failure(.call(errno))
        }
    }
}
