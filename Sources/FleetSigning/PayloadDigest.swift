import CCrypto
import HatchlingSystem

/// SHA-256 of a payload through libcrypto's one-shot `EVP_Digest` (already loaded by libmosquitto),
/// for the hub's audit log: it records a message's fingerprint, never its content.
public enum PayloadDigest {
    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only when libcrypto cannot allocate: nothing sensible to do but stop.
        precondition(result == 1, "SHA-256 failed in libcrypto")
        return Hex.encode(out.prefix(Int(length)))
    }
}
