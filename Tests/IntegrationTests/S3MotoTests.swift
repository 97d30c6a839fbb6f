import Cloud
import Digest
import Foundation
import TestSupport
import Testing

/// S3 against moto with signature checking on.
@Suite("S3 against moto (signatures checked)")
struct S3MotoTests {
    @Test func twoMegabyteArtefactRoundTripsWithETagsAndConditions() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let s3 = S3API(client: moto.client())
        try await s3.createBucket("model-artefacts")
        var random = SystemRandomNumberGenerator()
        let artefact = Data((0..<(2 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) })
        let key = "models/web-asg/v1/weights.fsm"
        let eTag = try #require(try await s3.putObject(bucket: "model-artefacts", key: key, data: artefact))

        let head = try #require(try await s3.headObject(bucket: "model-artefacts", key: key))
        #expect(head.size == artefact.count)
        #expect(head.eTag == eTag)

        guard case .object(let object) = try await s3.getObject(bucket: "model-artefacts", key: key) else {
            Issue.record("expected the object")
            return
        }
        #expect(object.data == artefact)
        #expect(SHA256.hash(object.data) == SHA256.hash(artefact))
        #expect(object.eTag == eTag)

        guard case .notModified = try await s3.getObject(bucket: "model-artefacts", key: key, ifNoneMatch: eTag) else {
            Issue.record("an unchanged object with a matching ETag should answer 304")
            return
        }
        #expect(try await s3.headObject(bucket: "model-artefacts", key: "models/missing.fsm") == nil)
        await #expect {
            _ = try await s3.getObject(bucket: "model-artefacts", key: "models/missing.fsm")
        } throws: { error in
            (error as? AWSError)?.code == "NoSuchKey"
        }
    }

    /// S3 keys are not normalised: empty and dot segments must reach the server as signed
    /// (libcurl squashes "/./" unless told not to). Keys with ':', spaces, '&' or non-ASCII
    /// are checked against botocore in SigV4OracleTests instead: moto's server re-encodes the
    /// path its own way, so boto3 itself fails its signature check on them.
    /// The trainer's promotion writes only over the version it read: a stale ETag (If-Match) and an object that
    /// appeared meanwhile (If-None-Match: *) are refused by S3 (412), and the object stays what the other wrote.
    @Test func conditionalWritesRefuseALostRace() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let s3 = S3API(client: moto.client())
        try await s3.createBucket("models")
        let read = try #require(
            try await s3.putObject(bucket: "models", key: "ns/p/model.fsm", data: Data("champion".utf8)))
        let other = try #require(
            try await s3.putObject(bucket: "models", key: "ns/p/model.fsm", data: Data("promoted meanwhile".utf8)))
        #expect(other != read)
        await #expect {
            try await s3.putObject(
                bucket: "models", key: "ns/p/model.fsm", data: Data("challenger".utf8), ifMatch: read)
        } throws: { error in
            (error as? AWSError)?.code == "PreconditionFailed"
        }
        await #expect {
            try await s3.putObject(
                bucket: "models", key: "ns/p/model.fsm", data: Data("challenger".utf8), ifNoneMatch: "*")
        } throws: { error in
            (error as? AWSError)?.code == "PreconditionFailed"
        }
        guard case .object(let object) = try await s3.getObject(bucket: "models", key: "ns/p/model.fsm") else {
            Issue.record("the object vanished")
            return
        }
        #expect(object.data == Data("promoted meanwhile".utf8))
        #expect(
            try await s3.putObject(bucket: "models", key: "ns/p/model.fsm", data: Data("next".utf8), ifMatch: other)
                != nil)
    }

    @Test(arguments: ["models/x//y/./z.fsm", "models/a/../b.fsm", "models/plain-key_v1.fsm"])
    func keysWithReservedCharactersRoundTrip(key: String) async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let s3 = S3API(client: moto.client())
        try await s3.createBucket("model-artefacts")
        let data = Data(key.utf8)
        _ = try await s3.putObject(bucket: "model-artefacts", key: key, data: data)
        guard case .object(let object) = try await s3.getObject(bucket: "model-artefacts", key: key) else {
            Issue.record("expected the object")
            return
        }
        #expect(object.data == data)
    }
}
