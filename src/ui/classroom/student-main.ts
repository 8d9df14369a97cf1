// Entry of student.html: the student's page of a class. Imports nothing of the engine (no tfjs, no worker).
import { mount } from 'svelte';
import StudentApp from './StudentApp.svelte';
import '../app.css';

mount(StudentApp, { target: document.getElementById('app')! });
