import { describe, expect, test } from "vitest";
import { createAddressPolicy } from "./ssrf.js";

describe("address policy", () => {
  test.each([
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "[::1]",
    "fd00:ec2::254",
    "fe80::1",
    "::ffff:10.0.0.1",
  ])("address policy - %s is blocked by default", (address) => {
    expect(createAddressPolicy().allowsAddress(address)).toBe(false);
  });

  test.each(["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])(
    "address policy - public %s is allowed",
    (address) => {
      expect(createAddressPolicy().allowsAddress(address)).toBe(true);
    },
  );

  test("address policy - the allowlist opens addresses, CIDRs and names, and nothing else", async () => {
    const policy = createAddressPolicy(["127.0.0.1", "10.1.0.0/16", "callbacks.internal"]);
    expect(policy.allowsAddress("127.0.0.1")).toBe(true);
    expect(policy.allowsAddress("127.0.0.2")).toBe(false);
    expect(policy.allowsAddress("10.1.200.3")).toBe(true);
    expect(policy.allowsAddress("10.2.0.1")).toBe(false);
    expect(policy.allowsHostName("Callbacks.Internal")).toBe(true);
    await expect(policy.check("10.1.0.9")).resolves.toEqual(["10.1.0.9"]);
    await expect(policy.check("169.254.169.254")).rejects.toThrow(/blocked/);
  });

  test("address policy - a name is judged by what it resolves to", async () => {
    await expect(createAddressPolicy().check("localhost")).rejects.toThrow(/blocked/);
    await expect(createAddressPolicy(["localhost"]).check("localhost")).resolves.not.toHaveLength(
      0,
    );
  });
});
