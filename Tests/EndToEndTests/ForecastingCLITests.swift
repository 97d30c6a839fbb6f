import Forecasting
import Foundation
import TestSupport
import Testing

/// `forescale generate` and `forescale train` end to end on small data (kept fast).
@Suite("forescale generate and train")
struct ForecastingCLITests {
    @Test func generateThenTrainATinyModel() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("data.csv")
        let generated = try await ForescaleBinary.run(["generate", "--days", "5", "--seed", "3", "--out", data])
        #expect(generated.status == 0, "\(generated.stderr)")
        let text = try String(contentsOfFile: data, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "timestamp,cpu_utilization,network_in,request_count,is_sale_active")
        #expect(lines.count == 5 * 288 + 1)
        // Day 5 is a sale day: its rows carry is_sale_active = 1.
        #expect(lines.last?.hasSuffix(",1.0") == true)

        let trained = try await ForescaleBinary.run([
            "train", "--data", data, "--hidden", "8", "--layers", "1", "--head", "8", "--epochs", "3", "--json",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as? [String: Any])
        #expect(report["epochs"] as? Int == 3)
        let mae = try #require(report["mae"] as? Double)
        let r2 = try #require(report["r2"] as? Double)
        #expect(mae > 0 && mae.isFinite)
        #expect(r2 <= 1)
        #expect((report["n"] as? Int ?? 0) > 100)
    }

    @Test func sameSeedSameModel() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("data.csv")
        _ = try await ForescaleBinary.run(["generate", "--days", "4", "--out", data])
        let arguments = [
            "train", "--data", data, "--hidden", "6", "--layers", "2", "--head", "4", "--epochs", "2", "--seed", "9",
            "--json",
        ]
        let first = try await ForescaleBinary.run(arguments)
        let second = try await ForescaleBinary.run(arguments)
        #expect(first.status == 0)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect(a["mae"] as? Double == b["mae"] as? Double)
    }

    @Test(
        "malformed data files exit 64 naming the file",
        arguments: [
            "timestamp,value\n2025-01-01 00:00:00,1\n2025-01-01 00:05:00,abc\n",
            "time,value\n1,2\n",
            "timestamp,value\n2025-01-01 00:00:00,1,7\n",
            "timestamp,value\nnot-a-time,1\n2025-01-01 00:05:00,2\n",
            "",
        ])
    func malformedData(content: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("bad.csv")
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ForescaleBinary.run(["train", "--data", path, "--epochs", "1"])
        #expect(result.status == 64)
        #expect(result.stderr.contains(path), "\(result.stderr)")
    }

    @Test func missingFileExits64() async throws {
        let result = try await ForescaleBinary.run(["train", "--data", "/nonexistent/forescale.csv"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("/nonexistent/forescale.csv"))
    }
}

@Suite("forescale evaluate and predict")
struct ModelCLITests {
    @Test func trainWritesAModelThatEvaluateAndPredictUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("data.csv")
        let model = directory.file("m.fsm")
        _ = try await ForescaleBinary.run(["generate", "--days", "4", "--out", data])
        let trained = try await ForescaleBinary.run([
            "train", "--data", data, "--hidden", "8", "--layers", "1", "--head", "4", "--epochs", "2",
            "--horizon", "3", "--quantiles", "0.5,0.9", "--select", "--out", model, "--json",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let trainReport = try #require(
            try JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as? [String: Any])

        let evaluated = try await ForescaleBinary.run(["evaluate", "--model", model, "--data", data, "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        // The saved model scores exactly what training reported on the same split.
        #expect(report["mae"] as? Double == trainReport["mae"] as? Double)
        let baselines = try #require(report["baselines"] as? [String: [String: Any]])
        #expect(Set(baselines.keys) == ["naive", "seasonal_naive", "holt_winters"])
        for key in ["r2", "mae", "rmse", "mape", "accuracy", "n"] { #expect(report[key] != nil, "missing \(key)") }
        // What the artefact serves (the selection's pick), scored from the test origins at a
        // chosen step beside every classical forecaster on the same origins.
        let selection = try ModelArtefact.load(path: model).header.selection
        #expect(selection != nil, "--select stores the selection")
        let atStep = try await ForescaleBinary.run([
            "evaluate", "--model", model, "--data", data, "--step", "2", "--json",
        ])
        let servedReport = try #require(
            (try JSONSerialization.jsonObject(with: Data(atStep.stdout.utf8)) as? [String: Any])?["served"]
                as? [String: Any], "\(atStep.stdout) \(atStep.stderr)")
        #expect(servedReport["kind"] as? String == selection?.served)
        #expect(servedReport["step"] as? Int == 2)
        let servedBaselines = try #require(servedReport["baselines"] as? [String: [String: Any]])
        #expect(Set(servedBaselines.keys) == Set(StatisticalModel.Kind.candidates.map(\.rawValue)))
        let coverage = try #require(servedReport["coverage"] as? Double)
        #expect(coverage >= 0 && coverage <= 1)
        let refused = try await ForescaleBinary.run(["evaluate", "--model", model, "--data", data, "--step", "4"])
        #expect(refused.status == 64 && refused.stderr.contains("--step"), "\(refused.stderr)")

        let predicted = try await ForescaleBinary.run(["predict", "--model", model, "--data", data, "--json"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let forecast = try #require(
            (try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [String: Any])?["forecast"]
                as? [[String: Any]])
        #expect(forecast.count == 3)
        let predictedServed =
            (try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [String: Any])?["served"]
            as? String
        #expect(predictedServed == selection?.served, "predict serves the selection's pick")
        let quantiles = try #require(forecast.first?["quantiles"] as? [String: Double])
        #expect(Set(quantiles.keys) == ["p50", "p90"])
    }

    @Test func corruptModelExits64NamingTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("data.csv")
        let model = directory.file("m.fsm")
        _ = try await ForescaleBinary.run(["generate", "--days", "4", "--out", data])
        _ = try await ForescaleBinary.run([
            "train", "--data", data, "--hidden", "4", "--layers", "1", "--head", "4", "--epochs", "1", "--out", model,
        ])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: model))
        let result = try await ForescaleBinary.run(["evaluate", "--model", model, "--data", data])
        #expect(result.status == 64)
        #expect(result.stderr.contains(model) && result.stderr.contains("checksum"), "\(result.stderr)")
    }
}

@Suite("forescale train with the calendar feature set")
struct CalendarCLITests {
    @Test func calendarModelNeedsItsCalendarAtEvaluation() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.fsm")
        let data = Fixtures.root.appendingPathComponent("examples/data/seed_multi_metric_data.csv").path
        let calendar = Fixtures.root.appendingPathComponent("examples/calendar/seed-sales.json").path
        let trained = try await ForescaleBinary.run([
            "train", "--data", data, "--features", "calendar", "--calendar", calendar,
            "--hidden", "6", "--layers", "1", "--head", "4", "--epochs", "1", "--out", model,
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stdout.contains("event_active"))
        let withoutCalendar = try await ForescaleBinary.run(["evaluate", "--model", model, "--data", data])
        #expect(withoutCalendar.status == 64)
        #expect(withoutCalendar.stderr.contains("--calendar"))
        let withCalendar = try await ForescaleBinary.run([
            "evaluate", "--model", model, "--data", data, "--calendar", calendar, "--json",
        ])
        #expect(withCalendar.status == 0, "\(withCalendar.stderr)")
    }
}
