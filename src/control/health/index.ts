// Public API of the health-check subsystem: keepalived's checkers (spec §7.3), the runner that
// times them, and the pure per-virtual-service state machine that turns their verdicts into
// IPVS destination changes (spec §7.2).
export {
  CheckFailure, abortedByTimeout, timeoutReason,
  type CheckResult, type CheckTarget, type Checker,
} from './checker.js';
export { TcpChecker, connectTcp } from './tcp.js';
export { HttpChecker, buildRequest, parseStatusCodes, type HttpCheckOptions, type HttpProtocol, type HttpUrl, type StatusCodeSpec } from './http.js';
export { UdpChecker, udpExchange, type UdpCheckOptions } from './udp.js';
export { DnsChecker, DNS_TYPES, type DnsCheckOptions, type DnsType } from './dns.js';
export { SmtpChecker, DEFAULT_HELO_NAME, type SmtpCheckOptions } from './smtp.js';
export { ExecChecker, type ExecCheckOptions } from './exec.js';
export {
  HealthCheckRunner, checkerDefaults,
  type CheckerKind, type CheckerTiming, type HealthTransition, type RunnerOptions,
} from './runner.js';
export {
  RealServerState, SORRY_SERVER_WEIGHT,
  type DesiredDest, type DestChange, type DestRole, type HealthNotice, type RealServerSpec,
  type RealServerStateHooks, type ServiceHealthSnapshot, type VirtualServiceHealthSpec,
} from './real-server-state.js';
