import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// A policy's charts on the dashboard, on one time axis: load with the capacity drawn over it
/// (and the load the SLO allows), utilisation against the target and the SLO with overload
/// intervals shaded, and capacity (in service, set, desired) with the actions marked.
/// Calendar events are shaded on all three.
public enum DashboardCharts {
    public static func charts(
        policy: JSONValue, samples: [PolicyHistory.Sample], actions: [PolicyHistory.Action], events: [CalendarEvent],
        slo: Double, width: Double
    ) -> [SVGChart] {
        guard let first = samples.first?.time, let last = samples.last?.time else { return [] }
        let spec = policy["spec"] ?? [:]
        let target = spec["targetUtilization"]?.doubleValue ?? SpecFields.targetUtilization.fallback ?? 60
        let maxCapacity = spec["maxCapacity"]?.doubleValue ?? 1
        let quantile = Int(
            ((spec.value(at: ["forecast", "quantile"])?.doubleValue ?? PolicySpec.defaultQuantile) * 100).rounded())
        let lead =
            spec.value(at: ["forecast", "leadTimeSeconds"])?.doubleValue ?? Double(PolicySpec.defaultLeadTimeSeconds)
        let end = max(last, samples.compactMap(\.forecastTime).max() ?? last)
        let domain = first...max(end, first.addingTimeInterval(60))
        let calendar = events.map {
            SVGChart.Window(
                start: $0.start, end: $0.end,
                title: "\($0.name): \(Timestamps.format($0.start)) – \(Timestamps.format($0.end))",
                style: "w-calendar", legend: "calendar event")
        }
        let phone = width < 600

        var load = SVGChart(
            id: "load-chart", title: "Load and capacity", unit: "load, % of one instance", width: width,
            height: phone ? 240 : 300, domain: domain)
        load.series = [
            .init(
                "band", "forecast band (model quantiles)", style: "s-band", kind: .band,
                points: samples.compactMap { s in s.forecastTime.map { .init($0, s.low, upper: s.high) } }),
            .init("load", "actual load", style: "s-load", points: samples.map { .init($0.time, $0.load) }),
            .init(
                "forecast", "forecast p\(quantile), made \(Int(lead / 60)) min earlier", style: "s-forecast",
                points: samples.compactMap { s in s.forecastTime.map { .init($0, s.forecast) } }),
            .init(
                "capacity", "in-service capacity (100 %)", style: "s-capacity", kind: .step,
                points: samples.map { .init($0.time, Double($0.inServiceCapacity) * 100) }),
            .init(
                "slo-load", "load the SLO allows (\(SVGChart.number(slo)) %)", style: "s-slo-load", kind: .step,
                points: samples.map { .init($0.time, Double($0.inServiceCapacity) * slo) }),
        ]
        load.windows = calendar

        var utilisation = SVGChart(
            id: "utilisation-chart", title: "Utilisation against the SLO", unit: "utilisation per instance, %",
            width: width, height: phone ? 180 : 220, domain: domain)
        utilisation.topAtLeast = max(100, slo)
        utilisation.series = [
            .init(
                "utilisation", "utilisation", style: "s-util",
                points: samples.map { s in .init(s.time, s.load.map { $0 / Double(max(1, s.inServiceCapacity)) }) })
        ]
        utilisation.rules = [
            .init(target, "target \(SVGChart.number(target)) %", style: "r-target"),
            .init(slo, "SLO \(SVGChart.number(slo)) %", style: "r-slo"),
        ]
        utilisation.windows = calendar + overloads(samples, slo: slo)

        var capacity = SVGChart(
            id: "capacity-chart", title: "Capacity", unit: "instances", width: width, height: phone ? 180 : 220,
            domain: domain)
        capacity.integer = true
        capacity.topAtLeast = maxCapacity
        capacity.series = [
            .init(
                "inService", "in service", style: "s-insvc", kind: .area,
                points: samples.map { .init($0.time, Double($0.inServiceCapacity)) }),
            .init(
                "current", "set on the target", style: "s-current", kind: .step,
                points: samples.map { .init($0.time, Double($0.currentCapacity)) }),
            .init(
                "desired", "desired (decision)", style: "s-desired", kind: .step,
                points: samples.map { .init($0.time, Double($0.desiredCapacity)) }),
        ]
        capacity.rules = [.init(maxCapacity, "max \(SVGChart.number(maxCapacity))", style: "r-bound")]
        capacity.windows = calendar
        capacity.markers = actions.map {
            .init(
                time: $0.time, value: Double($0.to), up: $0.to > $0.from,
                title: "\(Timestamps.format($0.time)): \($0.from) → \($0.to) (\($0.reason))")
        }
        return [load, utilisation, capacity]
    }

    /// Samples above the SLO, each until the next sample.
    static func overloads(_ samples: [PolicyHistory.Sample], slo: Double) -> [SVGChart.Window] {
        SVGChart.overloads(
            samples.indices.map { index in
                let sample = samples[index]
                let end = index + 1 < samples.count ? samples[index + 1].time : sample.time.addingTimeInterval(60)
                let overloaded = sample.load.map { $0 / Double(max(1, sample.inServiceCapacity)) > slo } ?? false
                return (sample.time, end, overloaded)
            })
    }
}
