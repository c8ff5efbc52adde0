import HatchlingSystem

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+): close every descriptor from `lowest`
/// up in the child, so a child never inherits the MQTT socket or another thread's open file.
/// Glibc declares it only for `_GNU_SOURCE`, which Swift's Glibc module is not built with, so it
/// is looked up at run time; where it is missing, the child keeps only what is close-on-exec.
enum SpawnFileActions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, lowest: Int32 = 3) {
        _ = closeFrom?(&actions, lowest)
    }
}
