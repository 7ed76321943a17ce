import StorageTestSupport

// The storage test doubles under the names the tests use, without an import in every file.
typealias FaultInjectingDevice = StorageTestSupport.FaultInjectingDevice
