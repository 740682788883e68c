// Errors of the control path. The core reports kernel-like errno codes so that tsvsadm can print
// exactly what ipvsadm prints for the same condition (ipvs_strerror maps errno per command), while
// the message carries tsvs's own precise explanation for logs, REST and config errors.
// The data path never throws: it returns verdicts and counts drops.

/** The errno-like code of a failed table operation (the kernel's answer to the same request). */
export type TsvsErrno = 'EEXIST' | 'ESRCH' | 'ENOENT' | 'EINVAL' | 'ERANGE' | 'EAFNOSUPPORT' | 'ENOMEM' | 'EPERM';

/** A table operation that the kernel would refuse. */
export class TsvsError extends Error {
  readonly errno: TsvsErrno;
  constructor(errno: TsvsErrno, message: string) {
    super(message);
    this.name = 'TsvsError';
    this.errno = errno;
  }
}
