/// fleetctl's version (the same release line as the agent).
public enum FleetControlVersion {
    public static let current = "1.0.0"
}
