import { expect } from "chai";
import { groupByMinute, mergeMinute } from "../../runtime/capture/minutes";
import { combine, rollup } from "../../runtime/capture/rollups";

const T = Date.parse("2026-11-20T12:00:00Z");

describe("minutes and rollups", () => {
  it("groups readings by UTC minute, keeping the newest of a sensor within a minute", () => {
    const minutes = groupByMinute([
      { sensor: "temperature", time: T + 50_000, value: 21.5 },
      { sensor: "temperature", time: T + 10_000, value: 20 },
      { sensor: "humidity", time: T + 59_999, value: 40 },
      { sensor: "temperature", time: T + 60_000, value: 22 },
    ]);

    expect([...minutes.keys()]).to.deep.equal([T, T + 60_000]);
    expect(minutes.get(T)).to.deep.equal({ temperature: 21.5, humidity: 40 });
    expect(minutes.get(T + 60_000)).to.deep.equal({ temperature: 22 });
  });

  it("keeps a stored sensor that a fetch left out, and reports an unchanged minute as such", () => {
    const stored = { time: "2026-11-20T12:00:00Z", temperature: 21, humidity: 40 };

    expect(mergeMinute(stored, { temperature: 21.5 })).to.deep.equal({
      temperature: 21.5,
      humidity: 40,
    });
    expect(mergeMinute(stored, { temperature: 21 })).to.equal(undefined);
    expect(mergeMinute(undefined, { wifi: -60 })).to.deep.equal({ wifi: -60 });
  });

  it("combines hours into the same day as rolling up all its minutes", () => {
    const minutes = Array.from({ length: 180 }, (_, i) => ({
      temperature: 18 + ((i * 37) % 70) / 10,
      ...(i % 4 === 0 ? {} : { humidity: 30 + (i % 23) }),
    }));
    const hours = [0, 1, 2].map((hour) =>
      rollup("d", "hour", T + hour * 3_600_000, minutes.slice(hour * 60, hour * 60 + 60)),
    );
    const direct = rollup("d", "day", T, minutes);
    const combined = combine(
      "d",
      "day",
      T,
      hours.filter((item) => item !== undefined),
    );

    expect(combined?.count).to.deep.equal(direct?.count);
    expect(combined?.min).to.deep.equal(direct?.min);
    expect(combined?.max).to.deep.equal(direct?.max);
    expect(combined?.temperature).to.be.closeTo(direct?.temperature as number, 1e-9);
    expect(combined?.humidity).to.be.closeTo(direct?.humidity as number, 1e-9);
    expect(rollup("d", "hour", T, [])).to.equal(undefined);
  });
});
