/**
 * Linux's numbers for the socket API (from <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>,
 * <sys/epoll.h>). Another OS gets a file of its own beside this one, chosen once in platform.ts.
 */
export const linux = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,

  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_LINGER: 13,
  SO_REUSEPORT: 15,

  IPPROTO_IP: 0,
  IP_BIND_ADDRESS_NO_PORT: 24,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  IPPROTO_IPV6: 41,
  IPV6_V6ONLY: 26,

  SHUT_WR: 1,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,

  EPOLLIN: 0x001,
  EPOLLOUT: 0x004,
  EPOLLERR: 0x008,
  EPOLLHUP: 0x010,
  EPOLLRDHUP: 0x2000,
  EPOLLET: 0x80000000,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLL_CLOEXEC: 0o2000000,
  /** struct epoll_event is packed (12 bytes) on x86-64 only; 16 bytes elsewhere */
  EPOLL_EVENT_SIZE: process.arch === 'x64' ? 12 : 16,
  EPOLL_DATA_OFFSET: process.arch === 'x64' ? 4 : 8,

  CLONE_NEWNET: 0x40000000,

  /** sizeof(struct sockaddr_in) and sizeof(struct sockaddr_in6) */
  SOCKADDR_IN_SIZE: 16,
  SOCKADDR_IN6_SIZE: 28,
  SOCKADDR_STORAGE_SIZE: 128,

  LIBC: 'libc.so.6',
} as const;

export type PlatformConstants = typeof linux;
