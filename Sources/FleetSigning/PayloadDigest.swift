import CCrypto
import HatchlingSystem

/// SHA-256 through libcrypto's one-shot `EVP_Digest` (already loaded by libmosquitto): the package's
/// one SHA-256. The hub's audit log records a message's fingerprint with it, never its content; the
/// agent fingerprints its configuration file with it (`config_sha256`).
public enum PayloadDigest {
    /// The 32-byte SHA-256 digest of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only when libcrypto cannot allocate: nothing sensible to do but stop.
        precondition(result == 1, "SHA-256 failed in libcrypto")
        return Array(out.prefix(Int(length)))
    }

    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.encode(sha256(bytes))
    }
}
