import { describe, expect, it } from "vitest";
import { builtinFormat, compileFormat, general } from "./numfmt.ts";

const show = (code: string, value: number, raw = String(value), date1904 = false) => compileFormat(code, date1904)(value, raw);

describe("General", () => {
  it("shows integers as stored, without .0 or an exponent, however long", () => {
    expect(general(1, "1")).toBe("1");
    expect(general(42, "42.0")).toBe("42");
    expect(general(12345678901234, "12345678901234")).toBe("12345678901234");
    // A 20-digit ID another writer stored as text of digits keeps every digit.
    expect(general(12345678901234567000, "12345678901234567890")).toBe("12345678901234567890");
    // Excel stores large numbers in exponent form; a person sees digits.
    expect(general(1.2345678901234e19, "1.2345678901234E+19")).toBe("12345678901234000000");
  });

  it("shows other numbers to 15 significant digits, as Excel keeps them", () => {
    expect(general(0.1 + 0.2, "0.30000000000000004")).toBe("0.3");
    expect(general(-3.5, "-3.5")).toBe("-3.5");
    expect(general(1e-7, "1E-7")).toBe("1E-07");
    expect(general(2.5e21, "2.5E+21")).toBe("2.5E+21");
  });
});

describe("number formats", () => {
  it.each([
    ["0", 2.5, "3"],
    ["0.00", 3.14159, "3.14"],
    ["0.00", 1.005, "1.01"],
    ["0.00", -2.5, "-2.50"],
    ["#,##0", 1234567, "1,234,567"],
    ["#,##0.00", 1234.5, "1,234.50"],
    ["0%", 0.256, "26%"],
    ["0.00%", 0.256, "25.60%"],
    ["0.00E+00", 12345, "1.23E+04"],
    ["0.00E+00", 0.000123, "1.23E-04"],
    ["##0.0E+0", 12345, "12.3E+3"],
    ["00000", 1234, "01234"],
    ["#,##0,", 1234567, "1,235"],
    ["0.0,,", 1234567, "1.2"],
    ['"$"#,##0.00', 1234.5, "$1,234.50"],
    ["[$€-407] #,##0.00", 1234.5, "€ 1,234.50"],
    ["#.00", 0.5, ".50"],
    ['0" units"', 3, "3 units"],
    ["@", 42, "42"],
    ['0;-0;"zero"', 0, "zero"],
    ["[Red]0.00;[Blue]-0.00", -3, "-3.00"],
  ])("%s on %s is %s", (code, value, shown) => {
    expect(show(code, value)).toBe(shown);
  });

  it("applies conditions, as a phone number format does", () => {
    const phone = "[<=9999999]###-####;(###) ###-####";
    expect(show(phone, 5551234)).toBe("555-1234");
    expect(show(phone, 2125551234)).toBe("(212) 555-1234");
  });

  it("applies the built-in formats by id, alignment padding trimmed", () => {
    expect(show(builtinFormat(3), 1234567)).toBe("1,234,567");
    expect(show(builtinFormat(7), 1234.5)).toBe("$1,234.50");
    expect(show(builtinFormat(7), -1234.5)).toBe("($1,234.50)");
    expect(show(builtinFormat(10), 0.5)).toBe("50.00%");
    expect(show(builtinFormat(49), 7)).toBe("7");
  });

  it("shows fractions as General (not supported)", () => {
    expect(show("# ?/?", 1.5)).toBe("1.5");
  });
});

describe("dates and times", () => {
  // 45000 is 2023-03-15, a Wednesday.
  it.each([
    ["yyyy-mm-dd", 45000, "2023-03-15"],
    ["dd/mm/yyyy", 45000, "15/03/2023"],
    ["m/d/yy", 45000, "3/15/23"],
    ["mmm d, yyyy", 45000, "Mar 15, 2023"],
    ["dddd, mmmm d, yyyy", 45000, "Wednesday, March 15, 2023"],
    ["d-mmm-yy", 45000, "15-Mar-23"],
    ["mmmmm", 45000, "M"],
    ["yyyy\\-mm\\-dd", 45000, "2023-03-15"],
    ['"Date: "yyyy-mm-dd', 45000, "Date: 2023-03-15"],
    ["[$-409]mmmm d, yyyy;@", 45000, "March 15, 2023"],
    ["dd.mm.yyyy hh:mm", 45123.75, "16.07.2023 18:00"],
    ["h:mm AM/PM", 0.75, "6:00 PM"],
    ["h:mm a/p", 0.25, "6:00 a"],
    ["h:mm:ss", 0.5, "12:00:00"],
    ["yyyy-mm-dd hh:mm:ss", 45000.5, "2023-03-15 12:00:00"],
    ["[h]:mm:ss", 1.5, "36:00:00"],
    ["mm:ss.0", 1.5 / 86400, "00:01.5"],
    ["hh:mm", 0.999994, "23:59"],
  ])("%s on %s is %s", (code, value, shown) => {
    expect(show(code, value)).toBe(shown);
  });

  it("shows the locale's short date (14, 22) in ISO 8601", () => {
    expect(show(builtinFormat(14), 45000)).toBe("2023-03-15");
    expect(show(builtinFormat(22), 45000.25)).toBe("2023-03-15 6:00");
    expect(show(builtinFormat(31), 45000)).toBe("2023-03-15");
  });

  it("keeps Excel's 1900 leap-year bug, and reads the 1904 system", () => {
    expect(show("yyyy-mm-dd", 1)).toBe("1900-01-01");
    expect(show("yyyy-mm-dd", 60)).toBe("1900-02-29");
    expect(show("yyyy-mm-dd", 61)).toBe("1900-03-01");
    expect(show("yyyy-mm-dd", 0, "0", true)).toBe("1904-01-01");
    expect(show("yyyy-mm-dd", 43538, "43538", true)).toBe("2023-03-15");
  });

  it("shows a date out of Excel's range as its number", () => {
    expect(show("yyyy-mm-dd", -1)).toBe("-1");
    expect(show("yyyy-mm-dd", 3e6)).toBe("3000000");
  });
});
