// What the teacher's app remembers between launches, on this computer only: the teacher's
// user id (to fill in the New class form and pick out their classes) and the class last
// hosted (to open the Host page on it). Never anything secret.

const TEACHER_KEY = "replaydesk.host.teacher";
const LAST_CLASS_KEY = "replaydesk.host.lastClass";

function read(key: string): string | null {
  try {
    const v = window.localStorage.getItem(key);
    return v && v.trim() ? v : null;
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode, quota): the form simply starts empty next time.
  }
}

export const hostMemory = {
  teacher: () => read(TEACHER_KEY),
  setTeacher: (uid: string) => write(TEACHER_KEY, uid),
  lastClass: () => read(LAST_CLASS_KEY),
  setLastClass: (classId: string) => write(LAST_CLASS_KEY, classId),
};
