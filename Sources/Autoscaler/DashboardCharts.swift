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
        policy: JSONValue, samples: [PolicyHistory.Sample], actions: [ScalingAction], events: [CalendarEvent],
        slo: Double, width: Double
    ) -> [SVGChart] {
        guard let first = samples.first?.time, let last = samples.last?.time else { return [] }
        // The spec as the controller reads it (its defaults are SpecFields'); an invalid one charts with none.
        let spec = try? ScalingPolicy(json: policy).spec.get()
        let end = max(last, samples.compactMap(\.forecastTime).max() ?? last)
        let axis = Axis(
            domain: first...max(end, first.addingTimeInterval(60)), width: width, phone: width < 600,
            calendar: events.map {
                SVGChart.Window(
                    start: $0.start, end: $0.end,
                    title: "\($0.name): \(Timestamps.format($0.start)) – \(Timestamps.format($0.end))",
                    style: "w-calendar", legend: "calendar event")
            })
        return [
            loadChart(samples, axis: axis, slo: slo, spec: spec),
            utilisationChart(samples, axis: axis, slo: slo, target: spec?.targetUtilization),
            capacityChart(samples, actions: actions, axis: axis, maxCapacity: Double(spec?.maxCapacity ?? 1)),
        ]
    }

    /// What the three charts share: the time axis, the size, and the calendar's windows.
    struct Axis {
        var domain: ClosedRange<Date>
        var width: Double
        var phone: Bool
        var calendar: [SVGChart.Window]
    }

    static func loadChart(_ samples: [PolicyHistory.Sample], axis: Axis, slo: Double, spec: PolicySpec?) -> SVGChart {
        let quantile = Int(((spec?.quantile ?? PolicySpec.defaultQuantile) * 100).rounded())
        let lead = spec?.leadTimeSeconds ?? Double(PolicySpec.defaultLeadTimeSeconds)
        var load = SVGChart(
            id: "load-chart", title: "Load and capacity", unit: "load, % of one instance", width: axis.width,
            height: axis.phone ? 240 : 300, domain: axis.domain)
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
        load.windows = axis.calendar
        return load
    }

    static func utilisationChart(_ samples: [PolicyHistory.Sample], axis: Axis, slo: Double, target: Double?)
        -> SVGChart
    {
        var utilisation = SVGChart(
            id: "utilisation-chart", title: "Utilisation against the SLO", unit: "utilisation per instance, %",
            width: axis.width, height: axis.phone ? 180 : 220, domain: axis.domain)
        utilisation.topAtLeast = max(100, slo)
        utilisation.series = [
            .init(
                "utilisation", "utilisation", style: "s-util",
                points: samples.map { s in .init(s.time, s.load.map { $0 / Double(max(1, s.inServiceCapacity)) }) })
        ]
        utilisation.rules =
            (target.map { [.init($0, "target \(SVGChart.number($0)) %", style: "r-target")] } ?? [])
            + [.init(slo, "SLO \(SVGChart.number(slo)) %", style: "r-slo")]
        utilisation.windows = axis.calendar + overloads(samples, slo: slo)
        return utilisation
    }

    static func capacityChart(
        _ samples: [PolicyHistory.Sample], actions: [ScalingAction], axis: Axis, maxCapacity: Double
    ) -> SVGChart {
        var capacity = SVGChart(
            id: "capacity-chart", title: "Capacity", unit: "instances", width: axis.width,
            height: axis.phone ? 180 : 220, domain: axis.domain)
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
        capacity.windows = axis.calendar
        capacity.markers = actions.map {
            .init(
                time: $0.time, value: Double($0.to), up: $0.to > $0.from,
                title: "\(Timestamps.format($0.time)): \($0.from) → \($0.to) (\($0.reason))")
        }
        return capacity
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
