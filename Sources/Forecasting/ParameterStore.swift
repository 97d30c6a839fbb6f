/// Where one layer's parameters live inside the flat buffers.
public struct ParameterSlice: Sendable, Equatable, Codable {
    public var offset: Int
    public var count: Int
}

/// Every trainable parameter of a model in one flat `[Float]`, so the optimiser, gradient
/// clipping and the artefact writer each make one pass over one buffer. Gradients live in
/// buffers of the same layout, one per worker.
public struct ParameterLayout: Sendable, Equatable {
    public private(set) var count = 0

    public init() {}

    public mutating func allocate(_ count: Int) -> ParameterSlice {
        defer { self.count += count }
        return ParameterSlice(offset: self.count, count: count)
    }
}
